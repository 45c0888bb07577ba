"""Build or incrementally update the index from documents: chunk, embed (cached), BM25, atomic write.

Only new or changed documents (by content hash) are chunked and embedded; unchanged ones reuse their
chunks and vectors from the current index; deleted ones are dropped. With nothing changed nothing is
written, unless ``index.backend`` changed (the vectors are then reused into the other backend).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..config import Settings
from ..embedders import Embedder, make_embedder
from ..errors import EmptyKnowledgeError, IndexError_, LoaderError
from ..index.embcache import SEED_FILE, EmbeddingCache, embed_with_cache, seed_cache
from ..index.keyword import BM25Index
from ..index.store import DocEntry, IndexManifest, open_index, read_manifest, write_index
from ..text import tokenize
from ..types import Chunk, Document
from .chunking import CHUNKER_VERSION, chunk_document
from .ocr import OcrEngine
from .quarantine import Quarantined, screen_documents, write_quarantine

# progress(stage, fraction of the whole ingest): loading files 0-0.3, embedding 0.3-0.9, writing 0.9-1
Progress = Callable[[str, float], None]


def _no_progress(stage: str, fraction: float) -> None:
    return None


@dataclass
class IngestReport:
    """What an ingest did; printed by the CLI."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[LoaderError] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)  # held back for review, not indexed
    chunks_total: int = 0
    chunks_embedded: int = 0
    chunks_seeded: int = 0  # vectors taken from the shipped seed file rather than the model
    documents_total: int = 0
    written: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        """One line of counts, then a ``skipped PATH: reason`` line per file that was not loaded and a
        ``quarantined ID (source): reasons`` line per document held back for review."""
        line = (
            f"documents: {self.documents_total} (added {len(self.added)}, changed {len(self.changed)}, "
            f"removed {len(self.removed)}, unchanged {self.unchanged}, skipped {len(self.skipped)}); "
            f"chunks: {self.chunks_total} ({self.chunks_embedded} new; vectors for {self.chunks_seeded} taken from "
            f"shipped vectors); {self.seconds:.1f} s"
        )
        held = [f"quarantined {q.doc_id} ({q.source}): {'; '.join(q.reasons)}" for q in self.quarantined]
        if held:
            line += f"; quarantined {len(held)}"
        return "\n".join([line, *(f"skipped {e.path}: {e.reason}" for e in self.skipped), *held])


def document_hash(doc: Document, settings: Settings) -> str:
    """Content hash of everything that affects a document's chunks and metadata."""
    payload = json.dumps(
        [asdict(doc), settings.chunking.model_dump(), CHUNKER_VERSION],
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def keyword_text(chunk: Chunk) -> str:
    """Text the BM25 side indexes: the title counts twice (titles and questions carry the topic), and the
    document's colloquial keys (``ingest.keys``: name variants, aliases, everyday terms) once."""
    keys = " ".join(chunk.metadata.get("keys", []) or [])
    return f"{chunk.title}\n{chunk.title}\n{chunk.section}\n{chunk.text}\n{keys}"


def user_words(documents: Iterable[Document]) -> list[str]:
    """Domain words for jieba: guide names and their 俗称/简称, document titles."""
    words: set[str] = set()
    for d in documents:
        if d.type == "guide":
            words.add(d.title)
        words.update(a for a in d.aliases if a)
    return sorted(w for w in words if 2 <= len(w) <= 20)


def unique_documents(documents: Iterable[Document]) -> list[Document]:
    """One document per id: a later duplicate replaces the earlier one and takes its place at the end."""
    by_id: dict[str, Document] = {}
    for d in documents:
        by_id.pop(d.id, None)  # re-inserted below, so it moves to the end as the list version did
        by_id[d.id] = d
    return list(by_id.values())


def _progress_bar(total: int, enabled: bool, desc: str) -> Callable[[int], None]:
    if not enabled or total == 0:
        return lambda n: None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="chunk", leave=False)
    return bar.update


def build_index_from_documents(
    documents: Sequence[Document],
    index_dir: Path,
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    progress: bool = False,
    skipped: Sequence[LoaderError] = (),
    seed: Path | None = None,
    quarantine: bool | None = None,
    on_progress: Progress = _no_progress,
) -> IngestReport:
    """Bring the index at ``index_dir`` in line with ``documents`` (incremental unless ``rebuild``).

    ``seed``: a shipped vectors file (``embcache.write_seed``) copied into the embedding cache first,
    so texts it holds for this embedder are not embedded again. ``quarantine`` (default
    ``screening.quarantine``): documents with text addressed to an AI or fraud patterns are left out,
    named in the report and listed in ``screening.quarantine_dir`` (``quarantine.py``).
    """
    started = time.perf_counter()
    embedder = embedder or make_embedder(settings.embedder)
    report = IngestReport(skipped=list(skipped), documents_total=len(documents))
    docs = unique_documents(documents)
    if settings.screening.quarantine if quarantine is None else quarantine:
        docs, report.quarantined = screen_documents(docs)
        write_quarantine(settings.screening.quarantine_dir, report.quarantined, documents)
    hashes = {d.id: document_hash(d, settings) for d in docs}

    old = None if rebuild else read_manifest(index_dir)
    if old is not None and (old.embedder != embedder.name or old.chunker_version != CHUNKER_VERSION):
        old = None  # another embedder or chunker: everything must be redone
    old_docs = old.documents if old else {}
    report.added = [i for i in hashes if i not in old_docs]
    report.changed = [i for i in hashes if i in old_docs and old_docs[i].hash != hashes[i]]
    report.removed = [i for i in old_docs if i not in hashes]
    report.unchanged = len(hashes) - len(report.added) - len(report.changed)
    report.documents_total = len(docs)
    same_backend = old is not None and old.vector_backend == settings.index.backend
    if old is not None and same_backend and not (report.added or report.changed or report.removed):
        report.chunks_total = old.n_chunks
        report.seconds = time.perf_counter() - started
        return report

    reuse: dict[str, list[tuple[Chunk, np.ndarray]]] = {}
    if old is not None and report.unchanged:
        try:
            prev = open_index(index_dir, embedder.name, settings=settings.index)
            for row, ch in enumerate(prev.chunks):
                reuse.setdefault(ch.doc_id, []).append((ch, np.asarray(prev.vectors[row])))
        except IndexError_:
            reuse = {}

    words = user_words(docs)
    chunks: list[Chunk] = []
    vec_rows: list[np.ndarray | None] = []
    entries: dict[str, DocEntry] = {}
    for d in docs:
        kept = reuse.get(d.id) if d.id in old_docs and old_docs[d.id].hash == hashes[d.id] else None
        if kept:
            doc_chunks = [c for c, _ in kept]
            vec_rows.extend(v for _, v in kept)
        else:
            doc_chunks = chunk_document(d, settings.chunking)
            vec_rows.extend([None] * len(doc_chunks))
        chunks.extend(doc_chunks)
        entries[d.id] = DocEntry(hash=hashes[d.id], source=d.source, chunks=len(doc_chunks))
    if not chunks:
        raise EmptyKnowledgeError("no chunks to index: the knowledge directory has no usable documents")

    if not embedder.dim:  # the dimension is only known once the model is loaded
        embedder.warm_up()
    todo = [i for i, v in enumerate(vec_rows) if v is None]
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite3")
    texts = [chunks[i].embed_text or chunks[i].text for i in todo]
    if seed is not None:
        report.chunks_seeded = seed_cache(cache, embedder.name, seed, texts)

    def embed(batch: Sequence[str]) -> np.ndarray:
        embedder.warm_up()  # only when something is not cached: a seeded first run loads no model
        return embedder.embed_documents(batch)

    bar = _progress_bar(len(todo), progress, "embedding")
    done = [0]

    def advance(n: int) -> None:
        bar(n)
        done[0] += n
        on_progress("embedding", 0.3 + 0.6 * done[0] / max(len(todo), 1))

    on_progress("embedding", 0.3)
    fresh = embed_with_cache(
        texts,
        embedder.name,
        embed,
        embedder.dim,
        cache,
        batch=max(settings.embedder.batch_size, 1),
        progress=advance,
    )
    cache.close()
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    for i, v in enumerate(vec_rows):
        if v is not None:
            vectors[i] = v
    if todo:
        vectors[todo] = fresh
    report.chunks_embedded = len(todo)

    on_progress("writing", 0.9)
    vocabulary = frozenset(words)
    keyword = BM25Index.build([tokenize(keyword_text(c), words=vocabulary) for c in chunks])
    manifest = IndexManifest(
        embedder=embedder.name, dim=embedder.dim, chunker_version=CHUNKER_VERSION, documents=entries
    )
    write_index(
        index_dir,
        manifest,
        chunks,
        vectors,
        keyword,
        exact_max=settings.retrieval.exact_index_max,
        settings=settings.index,
        keep=settings.admin.keep_generations,
        extra_files={"userdict.txt": "\n".join(words)},  # a rolled-back generation keeps its words
    )
    (Path(index_dir) / "userdict.txt").write_text("\n".join(words), encoding="utf-8")
    report.chunks_total = len(chunks)
    report.written = True
    report.seconds = time.perf_counter() - started
    return report


def ingest(
    settings: Settings,
    knowledge_dir: Path | None = None,
    index_dir: Path | None = None,
    *,
    extra_documents: Sequence[Document] = (),
    strict: bool = False,
    rebuild: bool = False,
    progress: bool = False,
    embedder: Embedder | None = None,
    ocr_engine: OcrEngine | None = None,
    on_progress: Progress = _no_progress,
) -> IngestReport:
    """Load every file under ``knowledge_dir`` (bad files reported and skipped unless ``strict``) and
    the operator's uploads and metadata overrides (``overlay.py``), and index it."""
    from .loaders import iter_knowledge
    from .overlay import apply_overlay

    knowledge_dir = Path(knowledge_dir or settings.knowledge_dir)
    index_dir = Path(index_dir or settings.index_dir)
    if not knowledge_dir.is_dir():
        raise EmptyKnowledgeError(f"knowledge directory {knowledge_dir} does not exist")
    from . import ocr

    ocr.configure(settings.ocr, ocr_engine)  # scanned pages and images (ocr.py)
    on_progress("loading", 0.0)
    documents, errors = iter_knowledge(knowledge_dir, strict=strict)
    documents, upload_errors = apply_overlay(knowledge_dir, list(documents) + list(extra_documents))
    if upload_errors and strict:
        raise upload_errors[0]
    errors = [*errors, *upload_errors]
    on_progress("loading", 0.3)
    if not documents:
        raise EmptyKnowledgeError(f"knowledge directory {knowledge_dir} has no documents")
    return build_index_from_documents(
        documents,
        index_dir,
        settings,
        embedder=embedder,
        rebuild=rebuild,
        progress=progress,
        skipped=errors,
        seed=knowledge_dir / SEED_FILE,
        on_progress=on_progress,
    )
