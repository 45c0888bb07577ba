"""Hybrid retrieval: dense (FAISS) + keyword (BM25) candidates, scored on both sides, fused with
normalised weights, filtered and boosted by metadata (validity, region), optionally reranked.

Both sides score the union of their candidates exactly (a keyword-only candidate still gets its
cosine, and vice versa), so fusion never treats "not in the other side's top-n" as a zero.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import RetrievalSettings
from .embedders import Embedder
from .errors import InvalidInputError
from .index.store import Index, open_index
from .text import add_user_words, normalize_query, tokenize
from .types import STATUS_REPEALED, STATUS_REVISED, Chunk, Filters, Hit

HISTORY_WORDS = re.compile(r"(历史|以前|之前|原来|旧版|废止|失效|过去|曾经|老政策)")


class Retriever(Protocol):
    """Finds the chunks that best answer a question."""

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """Best first; at most ``k`` hits; never returns repealed/expired chunks unless asked."""


class Reranker(Protocol):
    def score(self, query: str, texts: Sequence[str]) -> np.ndarray: ...


class CrossEncoderReranker:
    """sentence-transformers CrossEncoder from a local folder (e.g. a bge reranker)."""

    def __init__(self, path: str) -> None:
        from .errors import MissingDependencyError

        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:
            raise MissingDependencyError("sentence-transformers", "st") from exc
        self.model = CrossEncoder(path, device="cpu", local_files_only=True)

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.predict([(query, t) for t in texts]), dtype=np.float32)


def load_synonyms(extra: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Colloquial → official terms: the curated table plus ``extra`` (from guides' 俗称/简称)."""
    table: dict[str, list[str]] = {}
    text = resources.files("assistant.resources").joinpath("synonyms.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, _, official = line.partition("\t")
        table.setdefault(term.strip(), []).extend(official.split())
    for term, officials in (extra or {}).items():
        if 2 <= len(term) <= 12:
            table.setdefault(term, []).extend(o for o in officials if o != term)
    return table


def expand_query(query: str, synonyms: dict[str, list[str]]) -> str:
    """Append the official terms of every colloquial term the query contains."""
    extra = [" ".join(v) for k, v in synonyms.items() if k in query]
    return query if not extra else query + " " + " ".join(extra)


def _minmax(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    return np.zeros_like(x) if hi - lo < 1e-9 else (x - lo) / (hi - lo)


@dataclass
class _Loaded:
    index: Index
    in_force: np.ndarray  # per chunk: False when its document is repealed or superseded
    expiry: np.ndarray  # per chunk: the document's ISO expiry date, "" when open-ended
    region: np.ndarray
    doc_rows: dict[str, list[int]]

    def current(self, rows: np.ndarray, today: str) -> np.ndarray:
        """For each of ``rows``: True when its document is in force on ``today`` (ISO date)."""
        expiry = self.expiry[rows]
        return self.in_force[rows] & ((expiry == "") | (expiry >= today))


class HybridRetriever:
    """The default retriever. Construct cheaply; ``load()`` opens the index and warms the embedder."""

    name = "hybrid"

    def __init__(
        self, index_dir: Path, embedder: Embedder, settings: RetrievalSettings, today: str = ""
    ) -> None:
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self.settings = settings
        self.today = today
        self.synonyms: dict[str, list[str]] = {}
        self.reranker: Reranker | None = None
        self._state: _Loaded | None = None
        self._lock = threading.Lock()

    @property
    def relevance_floor(self) -> float | None:
        """The embedder's calibrated floor for the best dense score of an answerable question."""
        return self.embedder.relevance_floor

    @property
    def loaded(self) -> bool:
        return self._state is not None

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        """Every chunk of one document, in order (the answerer quotes whole passages)."""
        if self._state is None:
            self.load()
        assert self._state is not None
        index = self._state.index
        return [index.chunks[i] for i in self._state.doc_rows.get(doc_id, [])]

    @property
    def index(self) -> Index:
        if self._state is None:
            self.load()
        assert self._state is not None
        return self._state.index

    def load(self) -> None:
        with self._lock:
            if self._state is not None:
                return
            self.embedder.warm_up()
            index = open_index(self.index_dir, self.embedder.name)
            userdict = index.path.parent / "userdict.txt"
            if userdict.is_file():
                add_user_words(userdict.read_text(encoding="utf-8").split("\n"))
            self.synonyms = load_synonyms(_alias_table(index.chunks))
            if self.settings.reranker:
                self.reranker = CrossEncoderReranker(self.settings.reranker)
            doc_rows: dict[str, list[int]] = {}
            for row, c in enumerate(index.chunks):
                doc_rows.setdefault(c.doc_id, []).append(row)
            regions = np.array([c.metadata.get("region", "") for c in index.chunks])
            in_force, expiry = _validity(index.chunks)
            self._state = _Loaded(index, in_force, expiry, regions, doc_rows)

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        if not query or not query.strip():
            raise InvalidInputError("query is empty")
        if self._state is None:
            self.load()
        assert self._state is not None
        state = self._state
        k = k or self.settings.top_k
        filters = filters or Filters()
        s = self.settings
        q = normalize_query(query)
        include_old = filters.include_expired or s.include_expired or bool(HISTORY_WORDS.search(q))
        index = state.index
        if len(index) == 0:
            return []

        qvec = self.embedder.embed_query(q[: s.dense_query_chars])
        kw_tokens = tokenize(expand_query(q, self.synonyms))
        d_ids, _ = index.dense.search(qvec, s.dense_candidates)
        k_ids, _ = index.keyword.search(kw_tokens, s.keyword_candidates)
        cand = np.unique(np.concatenate([d_ids, k_ids]))
        if not include_old:
            # the date is read per search: a server left running past an expiry date stops citing it
            today = filters.today or self.today or date.today().isoformat()
            cand = cand[state.current(cand, today)]
        if filters.types:
            cand = np.array(
                [i for i in cand if index.chunks[i].metadata.get("type") in filters.types], dtype=np.int64
            )
        if filters.department:
            cand = np.array(
                [i for i in cand if filters.department in index.chunks[i].metadata.get("department", "")],
                dtype=np.int64,
            )
        if cand.size == 0:
            return []
        dense = np.asarray(index.vectors[cand]) @ qvec
        kw = _bm25_rows(index, kw_tokens, cand)
        fused = self._fuse(dense, kw)
        if s.title_weight:
            words = [t for t in kw_tokens if not t.startswith("#") and len(t) >= 2]
            if words:
                fused = fused + s.title_weight * np.array(
                    [sum(w in index.chunks[i].title for w in words) / len(words) for i in cand],
                    dtype=np.float32,
                )
        if filters.region:
            fused = fused + 0.05 * (state.region[cand] == filters.region)
        order = np.argsort(-fused, kind="stable")
        d_rank = {int(r): i + 1 for i, r in enumerate(d_ids)}
        k_rank = {int(r): i + 1 for i, r in enumerate(k_ids)}
        limit = max(k, s.rerank_candidates if self.reranker else k)
        keep = _without_copies((index.chunks[int(cand[j])] for j in order), limit)
        hits = [
            Hit(
                chunk=index.chunks[int(cand[j])],
                score=float(fused[j]),
                dense_score=float(dense[j]),
                keyword_score=float(kw[j]),
                dense_rank=d_rank.get(int(cand[j])),
                keyword_rank=k_rank.get(int(cand[j])),
            )
            for j in order[keep]
        ]
        if self.reranker is not None and hits:
            scores = self.reranker.score(q, [h.chunk.text for h in hits])
            for h, sc in zip(hits, scores, strict=True):
                h.rerank_score = float(sc)
            hits.sort(key=lambda h: -(h.rerank_score or 0.0))
        return hits[:k]

    def _fuse(self, dense: np.ndarray, kw: np.ndarray) -> np.ndarray:
        s = self.settings
        if s.fusion == "dense":
            return dense
        if s.fusion == "keyword":
            return kw
        if s.fusion == "rrf":
            rd = np.argsort(np.argsort(-dense))
            rk = np.argsort(np.argsort(-kw))
            return 1.0 / (60 + rd + 1) + 1.0 / (60 + rk + 1)
        return s.dense_weight * _minmax(dense) + s.keyword_weight * _minmax(kw)

    def describe(self) -> dict[str, Any]:
        s = self.settings
        return {
            "name": self.name,
            "fusion": s.fusion,
            "dense_weight": s.dense_weight,
            "keyword_weight": s.keyword_weight,
            "reranker": s.reranker or None,
        }


def _without_copies(ranked: Iterable[Chunk], limit: int) -> np.ndarray:
    """Positions in ``ranked`` of the first ``limit`` chunks that are not another office's copy of a guide.

    The same service item (same name, same department) is often published once per service hall, as
    separate documents that differ only in address; five of them would fill the top five. The best
    ranked copy stands for the item. Other document types are never collapsed: their titles are not
    unique names (FAQ titles such as 目前 or 第一步 repeat).
    """
    first_doc: dict[tuple[str, str], str] = {}
    keep: list[int] = []
    for pos, chunk in enumerate(ranked):
        if chunk.metadata.get("type") == "guide":
            key = (chunk.title, str(chunk.metadata.get("department", "")))
            if first_doc.setdefault(key, chunk.doc_id) != chunk.doc_id:
                continue
        keep.append(pos)
        if len(keep) >= limit:
            break
    return np.asarray(keep, dtype=np.int64)


def _bm25_rows(index: Index, tokens: Sequence[str], rows: np.ndarray) -> np.ndarray:
    vocab = index.keyword.vocab
    ids = sorted({vocab[t] for t in tokens if t in vocab})
    if not ids:
        return np.zeros(len(rows), dtype=np.float32)
    sub = index.keyword.matrix[:, ids]
    return np.asarray(sub[rows].sum(axis=1)).ravel().astype(np.float32)


def _validity(chunks: Sequence[Chunk]) -> tuple[np.ndarray, np.ndarray]:
    """Per chunk: not repealed or superseded; and the expiry date ("" when none)."""
    in_force = np.array(
        [c.metadata.get("status", "") not in (STATUS_REPEALED, STATUS_REVISED) for c in chunks], dtype=bool
    )
    expiry = np.array([str(c.metadata.get("expiry_date", "") or "") for c in chunks], dtype=str)
    return in_force, expiry


def _alias_table(chunks: Sequence[Chunk]) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for c in chunks:
        for alias in c.metadata.get("aliases", []) or []:
            table.setdefault(alias, [])
            if c.title not in table[alias]:
                table[alias].append(c.title)
    return table
