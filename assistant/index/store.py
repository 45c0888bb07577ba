"""Index directory layout, atomic writes and loading.

Layout: ``<index_dir>/CURRENT`` names a generation folder ``gen-<n>/`` holding ``manifest.json``,
``chunks.jsonl``, ``vectors.npy``, ``faiss.index``, ``bm25.npz`` and ``bm25_vocab.json``. A write builds
a new generation beside the old one and then swaps ``CURRENT`` with ``os.replace`` (atomic on POSIX),
so a crash mid-ingest leaves the previous index loadable. Older generations are removed after the swap.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IndexMismatchError, IndexMissingError
from ..types import Chunk
from .keyword import BM25Index, KeywordIndex
from .vectors import FaissIndex, VectorIndex

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


def open_index(index_dir: Path, embedder_name: str | None = None, *, load_vectors: bool = True) -> Index:
    """Load the current generation. ``embedder_name`` must match the one the index was built with."""
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
    dense = FaissIndex.load(gen / "faiss.index", manifest.vector_index)
    keyword = BM25Index.load(gen)
    return Index(gen, manifest, chunks, vectors, dense, keyword)


def write_index(
    index_dir: Path,
    manifest: IndexManifest,
    chunks: list[Chunk],
    vectors: np.ndarray,
    keyword: BM25Index,
    exact_max: int = 200_000,
) -> Path:
    """Write a new generation and atomically make it current; returns its folder."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    gen = index_dir / f"gen-{time.time_ns()}-{os.getpid()}"
    tmp = gen.with_name(gen.name + ".tmp")
    tmp.mkdir()
    dense = FaissIndex.build(vectors, exact_max=exact_max)
    manifest.vector_index = dense.kind
    manifest.n_chunks = len(chunks)
    manifest.created_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(c.to_dict(), ensure_ascii=False, default=str) + "\n")
    np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    dense.save(tmp / "faiss.index")
    keyword.save(tmp)
    (tmp / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    _fsync_dir(tmp)
    os.replace(tmp, gen)
    pointer_tmp = index_dir / "CURRENT.tmp"
    pointer_tmp.write_text(gen.name, encoding="utf-8")
    os.replace(pointer_tmp, index_dir / "CURRENT")
    _cleanup(index_dir, keep=gen.name)
    return gen


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def _cleanup(index_dir: Path, keep: str) -> None:
    for old in index_dir.glob("gen-*"):
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
