"""The dense side of an index generation: the ``VectorIndex`` seam, the ``VectorBackend`` that builds,
opens and drops it, a registry by name (``index.backend``), and the FAISS backend.

FAISS is chosen by size: exact inner product up to a threshold, IVF (inverted lists) above. IVF over
HNSW for large corpora: on 2 cores it builds a 1M-chunk index in minutes (HNSW takes far longer),
and the retriever re-scores every candidate exactly, so only recall matters; recall@10 against
exact search is measured in docs/benchmarks/scale.md. Milvus lives in ``milvus.py``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import ConfigError, IndexMissingError
from .rows import RowFilter, RowTable

if TYPE_CHECKING:
    from ..config import IndexSettings

FAISS_FILE = "faiss.index"


class VectorIndex(Protocol):
    """Nearest chunks by inner product of L2-normalised vectors; returns (row indices, scores) best first.

    ``where`` restricts the search to rows meeting it (the k best of those rows, not the k best
    rows filtered afterwards)."""

    kind: str

    def search(
        self, query: np.ndarray, k: int, where: RowFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...


class VectorBackend(Protocol):
    """Builds, opens and drops the vector index of one generation folder (``store.py`` calls it)."""

    name: str

    def build(self, folder: Path, generation: str, vectors: np.ndarray, rows: RowTable) -> VectorIndex:
        """Index ``vectors`` (row i = chunk i) for generation ``generation``, writing what ``open``
        needs into ``folder``; returns the index, whose ``kind`` goes into the manifest."""

    def open(self, folder: Path, kind: str, rows: RowTable) -> VectorIndex:
        """The index a ``build`` into ``folder`` left; raises ``IndexError_`` when it is gone."""

    def drop(self, folder: Path) -> None:
        """Free what ``build`` made outside ``folder`` (a server-side collection); never raises."""


# name -> "module:factory"; a factory takes (IndexSettings, index_dir, exact_max). Strings, so this
# module never imports a backend that imports it back.
VECTOR_BACKENDS: dict[str, str] = {
    "faiss": "assistant.index.vectors:FaissBackend",
    "milvus": "assistant.index.milvus:MilvusBackend",
}


def make_vector_backend(
    name: str, settings: IndexSettings | None, index_dir: Path, exact_max: int = 200_000
) -> VectorBackend:
    """The backend registered as ``name``, configured from ``settings`` (None: defaults)."""
    from ..config import IndexSettings

    target = VECTOR_BACKENDS.get(name)
    if target is None:
        raise ConfigError(f"unknown index.backend {name!r}; known: {', '.join(sorted(VECTOR_BACKENDS))}")
    module, attr = target.split(":")
    factory = getattr(importlib.import_module(module), attr)
    backend: VectorBackend = factory(settings or IndexSettings(), Path(index_dir), exact_max)
    return backend


class FaissIndex:
    """Wraps a FAISS index whose row ids are chunk positions; ``rows`` answers ``where`` restrictions."""

    def __init__(self, index: Any, kind: str, rows: RowTable | None = None) -> None:
        self.index = index
        self.kind = kind
        self.rows = rows

    @classmethod
    def build(
        cls, vectors: np.ndarray, exact_max: int = 200_000, nprobe: int = 48, rows: RowTable | None = None
    ) -> FaissIndex:
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
        return cls(index, kind, rows)

    def search(
        self, query: np.ndarray, k: int, where: RowFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = self.index.ntotal
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if where and self.rows is not None:
            scores, ids = self._search_masked(q, k, self.rows.mask(where))
        else:
            scores, ids = self.index.search(q, min(k, n))
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def _search_masked(self, q: np.ndarray, k: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """FAISS's own ID selector: only rows whose bit is set are scored (flat and IVF alike)."""
        import faiss as faiss_module

        faiss: Any = faiss_module  # its stubs lack the keyword arguments of the SWIG constructors
        allowed = int(mask.sum())
        if allowed == 0:
            return np.zeros((1, 0), np.float32), np.zeros((1, 0), np.int64)
        bitmap = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))  # n: bytes
        params: Any = (
            faiss.SearchParametersIVF(sel=selector, nprobe=self.index.nprobe)
            if self.kind == "ivf"
            else faiss.SearchParameters(sel=selector)
        )
        return self.index.search(q, min(k, allowed), params=params)  # bitmap stays alive until here

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str, rows: RowTable | None = None) -> FaissIndex:
        import faiss

        index: Any = faiss.read_index(str(path))
        if kind == "ivf":
            index.nprobe = max(index.nprobe, 48)
        return cls(index, kind, rows)


class FaissBackend:
    """FAISS in ``faiss.index`` inside the generation folder: nothing outside it to drop."""

    name = "faiss"

    def __init__(self, settings: IndexSettings, index_dir: Path, exact_max: int = 200_000) -> None:
        self.exact_max = exact_max

    def build(self, folder: Path, generation: str, vectors: np.ndarray, rows: RowTable) -> FaissIndex:
        dense = FaissIndex.build(vectors, exact_max=self.exact_max, rows=rows)
        dense.save(folder / FAISS_FILE)
        return dense

    def open(self, folder: Path, kind: str, rows: RowTable) -> FaissIndex:
        if not (folder / FAISS_FILE).is_file():
            raise IndexMissingError(
                f"{folder / FAISS_FILE} is missing; rebuild with: python -m assistant ingest --rebuild"
            )
        return FaissIndex.load(folder / FAISS_FILE, kind, rows)

    def drop(self, folder: Path) -> None:
        return None
