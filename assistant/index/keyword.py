"""BM25 keyword index over pre-tokenised chunks, stored as a scipy CSR matrix (Okapi BM25, k1=1.2, b=0.75).

Term weights are precomputed per (chunk, term), so a query is a sparse column sum: a few ms at 100k chunks.
``score_rows`` scores any given rows exactly, which hybrid fusion needs for the dense side's candidates.

Why not ``bm25s``: it computes the same Lucene-style BM25 (its scores are ours divided by k1 + 1, so the
ranking is the same: 5 of 6 probe queries gave identical top-10s over 3,319 starter chunks, the sixth
differed at rank 5 on a near tie), builds no faster here, and scores all rows or a top-k, not a chosen
subset; it was declared but unused and left ``pyproject.toml``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy import sparse


class KeywordIndex(Protocol):
    """Scores chunks against query tokens."""

    def search(
        self, tokens: Sequence[str], k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(row indices, scores) of the ``k`` best rows with a positive score, best first."""
        ...

    def score_rows(self, tokens: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """The score of each of ``rows`` (0 where no token occurs), in the order given."""
        ...


class BM25Index:
    """Okapi BM25 with precomputed weights; query-term weights count repeated tokens once."""

    def __init__(self, matrix: sparse.csc_matrix, vocab: dict[str, int]) -> None:
        self.matrix = matrix  # shape (n_chunks, n_terms), BM25 weight per cell
        self.vocab = vocab

    @classmethod
    def build(cls, docs_tokens: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> BM25Index:
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        lengths = np.zeros(len(docs_tokens), dtype=np.float32)
        for r, toks in enumerate(docs_tokens):
            lengths[r] = len(toks)
            counts: dict[int, int] = {}
            for t in toks:
                tid = vocab.setdefault(t, len(vocab))
                counts[tid] = counts.get(tid, 0) + 1
            rows.extend([r] * len(counts))
            cols.extend(counts.keys())
            vals.extend(counts.values())
        n = len(docs_tokens)
        tf = sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(n, max(len(vocab), 1)))
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=tf.shape[1]).astype(np.float32)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avgdl = float(lengths.mean()) if n else 1.0
        tf = tf.tocoo()
        denom = tf.data + k1 * (1 - b + b * lengths[tf.row] / max(avgdl, 1e-6))
        weights = idf[tf.col] * tf.data * (k1 + 1) / denom
        matrix = sparse.csc_matrix((weights.astype(np.float32), (tf.row, tf.col)), shape=tf.shape)
        return cls(matrix, vocab)

    def search(
        self, tokens: Sequence[str], k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        ids = self._term_ids(tokens)
        n = self.matrix.shape[0]
        if not ids or n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = np.asarray(self.matrix[:, ids].sum(axis=1)).ravel()
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        keep = scores[top] > 0
        return top[keep].astype(np.int64), scores[top][keep].astype(np.float32)

    def score_rows(self, tokens: Sequence[str], rows: np.ndarray) -> np.ndarray:
        ids = self._term_ids(tokens)
        if not ids:
            return np.zeros(len(rows), dtype=np.float32)
        return np.asarray(self.matrix[:, ids][rows].sum(axis=1)).ravel().astype(np.float32)

    def _term_ids(self, tokens: Sequence[str]) -> list[int]:
        """Vocabulary ids of the known tokens, each once (a repeated query token counts once)."""
        return sorted({self.vocab[t] for t in tokens if t in self.vocab})

    def save(self, directory: Path) -> None:
        sparse.save_npz(directory / "bm25.npz", self.matrix.tocsc(), compressed=False)
        (directory / "bm25_vocab.json").write_text(
            json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        matrix = sparse.load_npz(directory / "bm25.npz").tocsc()
        vocab = json.loads((directory / "bm25_vocab.json").read_text(encoding="utf-8"))
        return cls(matrix, vocab)
