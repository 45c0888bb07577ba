"""Index directory layout, atomic writes and loading.

Layout: ``<index_dir>/CURRENT`` names a generation folder ``gen-<n>/`` holding ``manifest.json``,
``chunks.jsonl``, ``vectors.npy``, ``bm25.npz``, ``bm25_vocab.json`` and the vector backend's part
(``faiss.index``, or ``milvus.json`` naming the generation's Milvus collection). A write builds
a new generation beside the old one and then swaps ``CURRENT`` with ``os.replace`` (atomic on POSIX),
so a crash mid-ingest leaves the previous index loadable. After the swap only the newest ``keep``
generations stay (the current one always among them): ``list_generations`` shows them and
``set_current`` points ``CURRENT`` back at one (rollback). Serving processes notice a changed
pointer by reading ``current_generation_name`` (one small file read) and load the new one. A removed
generation goes through ``remove_generation``: the backend drops what it keeps outside the folder
(a Milvus collection), then the folder goes.
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

from ..errors import IndexMismatchError, IndexMissingError, NotFoundError
from ..types import Chunk
from .keyword import BM25Index, KeywordIndex
from .rows import RowTable
from .vectors import VECTOR_BACKENDS, VectorIndex, make_vector_backend

if TYPE_CHECKING:
    from ..config import IndexSettings

FORMAT_VERSION = 1
DEFAULT_KEEP = 5
STALE_TMP_S = 3600.0  # a half-written generation this old belongs to a crashed ingest


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


def current_generation_name(index_dir: Path) -> str | None:
    """The name ``CURRENT`` points at (cheap: one small read), or None without a pointer."""
    try:
        return (Path(index_dir) / "CURRENT").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _current_generation(index_dir: Path) -> Path | None:
    name = current_generation_name(index_dir)
    if name is None:
        return None
    gen = index_dir / name
    return gen if (gen / "manifest.json").is_file() else None


@dataclass(frozen=True)
class GenerationInfo:
    """One kept generation, as the console lists it."""

    name: str
    created_at: str
    documents: int
    chunks: int
    embedder: str
    current: bool


def _generations(index_dir: Path) -> list[Path]:
    """Complete generation folders, oldest first (names carry the write time in nanoseconds)."""
    gens = [
        g for g in index_dir.glob("gen-*") if not g.name.endswith(".tmp") and (g / "manifest.json").is_file()
    ]
    return sorted(gens, key=_generation_order)


def _generation_order(gen: Path) -> tuple[int, str]:
    parts = gen.name.split("-")
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0, gen.name)


def list_generations(index_dir: Path) -> list[GenerationInfo]:
    """The kept generations, newest first, with their size and which one is current."""
    index_dir = Path(index_dir)
    current = current_generation_name(index_dir)
    out = []
    for gen in reversed(_generations(index_dir)):
        try:
            m = IndexManifest.from_json((gen / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            continue  # removed or rewritten under us: not listable, not selectable
        out.append(
            GenerationInfo(
                gen.name, m.created_at, len(m.documents), m.n_chunks, m.embedder, gen.name == current
            )
        )
    return out


def set_current(index_dir: Path, name: str) -> GenerationInfo:
    """Point ``CURRENT`` at the kept generation ``name`` (atomic); ``NotFoundError`` for any other name."""
    index_dir = Path(index_dir)
    found = {g.name: g for g in _generations(index_dir)}
    if name not in found:
        raise NotFoundError(f"no kept index generation named {name!r}")
    manifest = IndexManifest.from_json((found[name] / "manifest.json").read_text(encoding="utf-8"))
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(f"generation {name} has format version {manifest.format_version}")
    _point(index_dir, name)
    return next(g for g in list_generations(index_dir) if g.name == name)


def _point(index_dir: Path, name: str) -> None:
    pointer_tmp = index_dir / f"CURRENT.{os.getpid()}.tmp"
    pointer_tmp.write_text(name, encoding="utf-8")
    os.replace(pointer_tmp, index_dir / "CURRENT")


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
    keep: int = DEFAULT_KEEP,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write a new generation and atomically make it current; returns its folder. The vector index
    goes to ``settings.backend`` (default: FAISS).

    ``extra_files``: more text files for the generation (e.g. its ``userdict.txt``). Afterwards the
    newest ``keep`` generations are kept (at least the new one) and older ones removed.
    """
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
    for name, text in (extra_files or {}).items():
        (tmp / name).write_text(text, encoding="utf-8")
    (tmp / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    _fsync_dir(tmp)
    os.replace(tmp, gen)
    _point(index_dir, gen.name)
    _cleanup(index_dir, keep=max(1, keep), settings=settings)
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


def _cleanup(index_dir: Path, keep: int, settings: IndexSettings | None = None) -> None:
    """Remove generations beyond the newest ``keep`` (never the current one) and crashed writes."""
    current = current_generation_name(index_dir)
    gens = _generations(index_dir)
    for old in gens[: max(0, len(gens) - keep)]:
        if old.name != current:
            remove_generation(old, settings)
    for tmp in index_dir.glob("gen-*.tmp"):
        if _abandoned(tmp):
            remove_generation(tmp, settings)


def _abandoned(tmp: Path) -> bool:
    """A half-written generation of a crashed write: its writer process is gone (or it is stale)."""
    pid_text = tmp.name[: -len(".tmp")].rsplit("-", 1)[-1]
    try:
        if time.time() - tmp.stat().st_mtime > STALE_TMP_S:
            return True
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return True  # this process writes one generation at a time, and that one is finished
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
