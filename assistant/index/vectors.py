"""FAISS vector index chosen by size: exact inner product up to a threshold, IVF (inverted lists) above.

IVF over HNSW for large corpora: on 2 cores it builds a 1M-chunk index in minutes (HNSW takes far
longer), and the retriever re-scores every candidate exactly, so only recall matters; recall@10
against exact search is measured in docs/benchmarks/scale.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np


class VectorIndex(Protocol):
    """Nearest chunks by inner product of L2-normalised vectors; returns (row indices, scores) best first."""

    kind: str

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


class FaissIndex:
    """Wraps a FAISS index whose row ids are chunk positions."""

    def __init__(self, index: Any, kind: str) -> None:
        self.index = index
        self.kind = kind

    @classmethod
    def build(cls, vectors: np.ndarray, exact_max: int = 200_000, nprobe: int = 48) -> FaissIndex:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
        index: Any
        if len(vectors) <= exact_max:
            index, kind = faiss.IndexFlatIP(dim), "flat"
        else:
            nlist = int(4 * np.sqrt(len(vectors)))
            index, kind = (
                faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT),
                "ivf",
            )
            sample = np.random.default_rng(0).choice(
                len(vectors), min(len(vectors), 40 * nlist), replace=False
            )
            index.train(vectors[np.sort(sample)])
            index.nprobe = nprobe
        if len(vectors):
            index.add(vectors)
        return cls(index, kind)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.index.ntotal
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = self.index.search(q, min(k, n))
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> FaissIndex:
        import faiss

        index: Any = faiss.read_index(str(path))
        if kind == "ivf":
            index.nprobe = max(index.nprobe, 48)
        return cls(index, kind)
