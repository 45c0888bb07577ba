"""Index directory layout, atomic writes and loading.

Layout: ``<index_dir>/CURRENT`` names a generation folder ``gen-<n>/`` holding ``manifest.json``,
``chunks.jsonl``, ``vectors.npy``, ``bm25.npz``, ``bm25_vocab.json`` and the vector backend's part
(``faiss.index``, or ``milvus.json`` naming the generation's Milvus collection). A write builds
a new generation beside the old one and then swaps ``CURRENT`` with ``os.replace`` (atomic on POSIX),
so a crash mid-ingest leaves the previous index loadable. Older generations are removed after the swap
(``remove_generation``: the backend drops what it keeps outside the folder, then the folder goes).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import IndexMismatchError, IndexMissingError
from ..types import Chunk
from .keyword import BM25Index, KeywordIndex
from .rows import RowTable
from .vectors import VECTOR_BACKENDS, VectorIndex, make_vector_backend

if TYPE_CHECKING:
    from ..config import IndexSettings

FORMAT_VERSION = 1


@dataclass
class DocEntry:
    """Per-document bookkeeping for incremental ingest."""

    hash: str
    source: str
    chunks: int


@dataclass
class IndexManifest:
    embedder: str
    dim: int
    chunker_version: str
    format_version: int = FORMAT_VERSION
    created_at: str = ""
    vector_index: str = "flat"
    vector_backend: str = "faiss"  # the index.backend that built this generation
    documents: dict[str, DocEntry] = field(default_factory=dict)
    n_chunks: int = 0

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> IndexManifest:
        data = json.loads(text)
        docs = {k: DocEntry(**v) for k, v in data.pop("documents", {}).items()}
        return cls(documents=docs, **data)


@dataclass
class Index:
    """A loaded index: chunks in row order, their vectors, and both search structures."""

    path: Path
    manifest: IndexManifest
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: VectorIndex
    keyword: KeywordIndex

    def __len__(self) -> int:
        return len(self.chunks)


def _current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    gen = index_dir / pointer.read_text(encoding="utf-8").strip()
    return gen if (gen / "manifest.json").is_file() else None


def read_manifest(index_dir: Path) -> IndexManifest | None:
    """The manifest of the current generation, or None when there is no index this version can read
    (none at all, or one of another format version: ingest then builds it afresh)."""
    gen = _current_generation(Path(index_dir))
    if gen is None:
        return None
    manifest = IndexManifest.from_json((gen / "manifest.json").read_text(encoding="utf-8"))
    return manifest if manifest.format_version == FORMAT_VERSION else None


def open_index(
    index_dir: Path,
    embedder_name: str | None = None,
    *,
    load_vectors: bool = True,
    settings: IndexSettings | None = None,
) -> Index:
    """Load the current generation. ``embedder_name`` must match the one the index was built with.
    The vector index is opened with the backend that built it, configured from ``settings``."""
    index_dir = Path(index_dir)
    gen = _current_generation(index_dir)
    if gen is None:
        raise IndexMissingError(
            f"no index at {index_dir}; build it with: python -m assistant ingest --index {index_dir}"
        )
    manifest = IndexManifest.from_json((gen / "manifest.json").read_text(encoding="utf-8"))
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {index_dir} has format version {manifest.format_version}, this version reads "
            f"{FORMAT_VERSION}; rebuild it with: python -m assistant ingest --index {index_dir} --rebuild"
        )
    if embedder_name is not None and manifest.embedder != embedder_name:
        raise IndexMismatchError(
            f"index at {index_dir} was built with embedder {manifest.embedder!r} but {embedder_name!r} is "
            f"configured; rebuild it with: python -m assistant ingest --index {index_dir} --rebuild "
            f"(or set ASSISTANT_EMBEDDER__NAME to match)"
        )
    with open(gen / "chunks.jsonl", encoding="utf-8") as fh:
        chunks = [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]
    vectors = (
        np.load(gen / "vectors.npy", mmap_mode="r")
        if load_vectors
        else np.zeros((0, manifest.dim), np.float32)
    )
    backend = make_vector_backend(manifest.vector_backend, settings, index_dir)
    dense = backend.open(gen, manifest.vector_index, RowTable.of(chunks))
    keyword = BM25Index.load(gen)
    return Index(gen, manifest, chunks, vectors, dense, keyword)


def write_index(
    index_dir: Path,
    manifest: IndexManifest,
    chunks: list[Chunk],
    vectors: np.ndarray,
    keyword: BM25Index,
    exact_max: int = 200_000,
    settings: IndexSettings | None = None,
) -> Path:
    """Write a new generation and atomically make it current; returns its folder. The vector index
    goes to ``settings.backend`` (default: FAISS)."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    gen = index_dir / f"gen-{time.time_ns()}-{os.getpid()}"
    tmp = gen.with_name(gen.name + ".tmp")
    tmp.mkdir()
    backend = make_vector_backend(settings.backend if settings else "faiss", settings, index_dir, exact_max)
    dense = backend.build(tmp, gen.name, vectors, RowTable.of(chunks))
    manifest.vector_index = dense.kind
    manifest.vector_backend = backend.name
    manifest.n_chunks = len(chunks)
    manifest.created_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(c.to_dict(), ensure_ascii=False, default=str) + "\n")
    np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    keyword.save(tmp)
    (tmp / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    _fsync_dir(tmp)
    os.replace(tmp, gen)
    pointer_tmp = index_dir / "CURRENT.tmp"
    pointer_tmp.write_text(gen.name, encoding="utf-8")
    os.replace(pointer_tmp, index_dir / "CURRENT")
    _cleanup(index_dir, keep=gen.name, settings=settings)
    return gen


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def remove_generation(gen: Path, settings: IndexSettings | None = None) -> None:
    """Delete one generation: what its vector backend keeps elsewhere (a Milvus collection), then the
    folder. A half-written ``.tmp`` folder (no manifest yet) asks every backend; each drops only what
    its own file in the folder names."""
    manifest = gen / "manifest.json"
    built_by = (
        json.loads(manifest.read_text(encoding="utf-8")).get("vector_backend", "faiss")
        if manifest.is_file()
        else ""
    )
    for name in [built_by] if built_by in VECTOR_BACKENDS else list(VECTOR_BACKENDS):
        make_vector_backend(name, settings, gen.parent).drop(gen)
    shutil.rmtree(gen, ignore_errors=True)


def _cleanup(index_dir: Path, keep: str, settings: IndexSettings | None = None) -> None:
    for old in index_dir.glob("gen-*"):
        if old.name != keep:
            remove_generation(old, settings)
