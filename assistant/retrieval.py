"""Hybrid retrieval: dense (FAISS or Milvus, ``index.backend``) + keyword (BM25) candidates, scored on both sides, fused with
normalised weights, filtered and boosted by metadata (validity, region), optionally reranked.

Both sides score the union of their candidates exactly (a keyword-only candidate still gets its
cosine, and vice versa), so fusion never treats "not in the other side's top-n" as a zero.
``HybridRetriever.search`` runs named stages in order: normalise → candidates → filter (validity,
type, department) → fuse → boost (title, region) → collapse copies → rerank.

Hot swap: everything loaded from one index generation is one immutable ``_Loaded``; a search reads
the reference once, so replacing it (``refresh``) never disturbs a search in flight. Who calls
``refresh`` (a pointer watcher thread, an admin route, a notice from another replica) is not this
module's business (``index/watch.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import IndexSettings, RetrievalSettings
from .embedders import Embedder
from .errors import InvalidInputError
from .index.rows import RowFilter
from .index.store import Index, current_generation_name, open_index
from .synonyms import alias_table, expand_query, load_synonyms
from .text import load_tokenizer, normalize_query, tokenize
from .types import Chunk, Filters, Hit
from .validity import ValidityTable, asks_for_history, today_iso

log = logging.getLogger(__name__)


class Retriever(Protocol):
    """Finds the chunks that best answer a question: the seam the pipeline, the API and LangChain use."""

    @property
    def relevance_floor(self) -> float | None:
        """The best dense score below which a question counts as unanswerable (None: not calibrated)."""

    def warm_up(self) -> None:
        """Open the index and load models; raises ``IndexMissingError`` when there is no index."""

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """Best first; at most ``k`` hits; never returns chunks not in force unless asked (``validity``)."""

    def search_with_vector(
        self, query: str, k: int | None = None, filters: Filters | None = None
    ) -> tuple[list[Hit], np.ndarray | None]:
        """``search``, plus the query embedding it used (None when nothing was embedded)."""

    def describe(self) -> dict[str, Any]:
        """Name and settings, plus ``chunks`` and ``documents`` indexed (0 before ``warm_up``)."""

    def refresh(self) -> bool:
        """Load the current index generation if it is not the one serving; True when it swapped."""


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


def _minmax(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    return np.zeros_like(x) if hi - lo < 1e-9 else (x - lo) / (hi - lo)


def fuse(dense: np.ndarray, kw: np.ndarray, s: RetrievalSettings) -> np.ndarray:
    """One score per candidate from its dense and keyword scores, as ``s.fusion`` says."""
    if s.fusion == "dense":
        return dense
    if s.fusion == "keyword":
        return kw
    if s.fusion == "rrf":
        rd = np.argsort(np.argsort(-dense))
        rk = np.argsort(np.argsort(-kw))
        return 1.0 / (s.rrf_k + rd + 1) + 1.0 / (s.rrf_k + rk + 1)
    return s.dense_weight * _minmax(dense) + s.keyword_weight * _minmax(kw)


@dataclass
class _Loaded:
    """What ``warm_up`` prepares once: the index and per-row metadata arrays."""

    index: Index
    validity: ValidityTable
    region: np.ndarray
    doc_rows: dict[str, list[int]]
    user_words: frozenset[str]  # the index's jieba words, so queries are cut as its chunks were
    synonyms: dict[str, list[str]]

    @property
    def generation(self) -> str:
        return self.index.path.name


@dataclass
class _Candidates:
    """The rows both sides proposed, and what the later stages need from the query."""

    rows: np.ndarray
    qvec: np.ndarray
    tokens: list[str]
    dense_rank: dict[int, int]
    keyword_rank: dict[int, int]


class HybridRetriever:
    """The default retriever. Construct cheaply; ``warm_up()`` opens the index and warms the embedder."""

    name = "hybrid"

    def __init__(
        self,
        index_dir: Path,
        embedder: Embedder,
        settings: RetrievalSettings,
        today: str = "",
        index_settings: IndexSettings | None = None,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self.settings = settings
        self.today = today
        self.index_settings = index_settings or IndexSettings()
        self.reranker: Reranker | None = None
        self._state: _Loaded | None = None
        self._lock = threading.Lock()  # one loader at a time; searches never take it

    @property
    def relevance_floor(self) -> float | None:
        """The embedder's calibrated floor for the best dense score of an answerable question."""
        return self.embedder.relevance_floor

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        """Every chunk of one document, in order (the answerer quotes whole passages)."""
        state = self._loaded()
        return [state.index.chunks[i] for i in state.doc_rows.get(doc_id, [])]

    @property
    def index(self) -> Index:
        return self._loaded().index

    def warm_up(self) -> None:
        with self._lock:
            if self._state is not None:
                return
            self.embedder.warm_up()
            if self.settings.reranker:
                self.reranker = CrossEncoderReranker(self.settings.reranker)
            self._state = self._load()

    def _load(self) -> _Loaded:
        """Everything one search needs from the current generation (built fresh, never mutated after)."""
        index = open_index(self.index_dir, self.embedder.name, settings=self.index_settings)
        userdict = index.path / "userdict.txt"
        if not userdict.is_file():  # generations written before they carried their own
            userdict = index.path.parent / "userdict.txt"
        words = userdict.read_text(encoding="utf-8").split("\n") if userdict.is_file() else []
        user_words = frozenset(w.strip() for w in words if w.strip())
        load_tokenizer(user_words)
        doc_rows: dict[str, list[int]] = {}
        for row, c in enumerate(index.chunks):
            doc_rows.setdefault(c.doc_id, []).append(row)
        return _Loaded(
            index=index,
            validity=ValidityTable.of(index.chunks),
            region=np.array([c.metadata.get("region", "") for c in index.chunks]),
            doc_rows=doc_rows,
            user_words=user_words,
            synonyms=load_synonyms(alias_table(index.chunks)),
        )

    @property
    def generation(self) -> str | None:
        """The name of the generation serving now (None before ``warm_up``)."""
        state = self._state
        return state.generation if state is not None else None

    def refresh(self) -> bool:
        """Load the generation ``CURRENT`` names if another one is serving; swap it in atomically.

        Searches already running keep the reference they read and finish on the old generation.
        Raises what ``open_index`` raises when the new generation cannot be opened (the old one stays).
        """
        if self._state is None:
            return False  # not warmed up: warm_up will load the current one
        with self._lock:
            state = self._state
            if state is None or current_generation_name(self.index_dir) in (None, state.generation):
                return False
            fresh = self._load()
            self._state = fresh  # one reference assignment: atomic for every reader
        log.info('{"event": "index_swapped", "from": "%s", "to": "%s"}', state.generation, fresh.generation)
        return True

    def _loaded(self) -> _Loaded:
        if self._state is None:
            self.warm_up()
        assert self._state is not None
        return self._state

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        return self.search_with_vector(query, k, filters)[0]

    def search_with_vector(
        self, query: str, k: int | None = None, filters: Filters | None = None
    ) -> tuple[list[Hit], np.ndarray | None]:
        """``search``, plus the query embedding it computed (None when nothing was embedded), so the
        intent model need not embed the question a second time."""
        if not query or not query.strip():
            raise InvalidInputError("query is empty")
        state = self._loaded()
        if len(state.index) == 0:
            return [], None
        k = k or self.settings.top_k
        filters = filters or Filters()
        q = normalize_query(query)
        cand = self._candidates(q, state, self._pushdown(q, filters))
        if filters.prefer_docs:  # a follow-up: its topic documents are scored whether or not proposed
            preferred = [r for d in filters.prefer_docs for r in state.doc_rows.get(d, [])]
            cand.rows = np.union1d(cand.rows, np.asarray(preferred, dtype=np.int64))
        rows = self._filter(cand.rows, q, filters, state)
        if rows.size == 0:
            return [], cand.qvec
        dense = np.asarray(state.index.vectors[rows]) @ cand.qvec
        kw = state.index.keyword.score_rows(cand.tokens, rows)
        scores = fuse(dense, kw, self.settings)
        scores = self._boost(scores, rows, cand.tokens, filters, state)
        order = np.argsort(-scores, kind="stable")
        limit = max(k, self.settings.rerank_candidates if self.reranker else k)
        keep = without_copies((state.index.chunks[int(rows[j])] for j in order), limit)
        hits = [
            Hit(
                chunk=state.index.chunks[int(rows[j])],
                score=float(scores[j]),
                dense_score=float(dense[j]),
                keyword_score=float(kw[j]),
                dense_rank=cand.dense_rank.get(int(rows[j])),
                keyword_rank=cand.keyword_rank.get(int(rows[j])),
            )
            for j in order[keep]
        ]
        return self._rerank(q, hits)[:k], cand.qvec

    # ------------------------------------------------------------------ stages

    def _pushdown(self, q: str, filters: Filters) -> RowFilter | None:
        """The ``_filter`` restrictions for the vector search itself (``index.filter_pushdown``), so
        its top-n are all rows that survive the filter; None when off."""
        if not self.index_settings.filter_pushdown:
            return None
        in_force = not (filters.include_expired or self.settings.include_expired or asks_for_history(q))
        return RowFilter(
            in_force_on=today_iso(filters.today, self.today) if in_force else "",
            types=tuple(filters.types or ()),
            department=filters.department or "",
        )

    def _candidates(self, q: str, state: _Loaded, where: RowFilter | None = None) -> _Candidates:
        """Top rows of each side (the keyword side searches the query with colloquial terms expanded);
        ``where`` restricts the dense side's search (filter pushdown)."""
        s = self.settings
        qvec = self.embedder.embed_query(q[: s.dense_query_chars])
        tokens = tokenize(expand_query(q, state.synonyms), words=state.user_words)
        d_ids, _ = state.index.dense.search(qvec, s.dense_candidates, where)
        k_ids, _ = state.index.keyword.search(tokens, s.keyword_candidates)
        return _Candidates(
            rows=np.unique(np.concatenate([d_ids, k_ids])),
            qvec=qvec,
            tokens=tokens,
            dense_rank={int(r): i + 1 for i, r in enumerate(d_ids)},
            keyword_rank={int(r): i + 1 for i, r in enumerate(k_ids)},
        )

    def _filter(self, rows: np.ndarray, q: str, filters: Filters, state: _Loaded) -> np.ndarray:
        """Rows in force (unless history is asked or old documents included), of the asked types/department."""
        chunks = state.index.chunks
        if not (filters.include_expired or self.settings.include_expired or asks_for_history(q)):
            # the date is read per search: a server left running past an expiry date stops citing it
            rows = rows[state.validity.in_force(rows, today_iso(filters.today, self.today))]
        if filters.types:
            rows = np.array(
                [i for i in rows if chunks[i].metadata.get("type") in filters.types], dtype=np.int64
            )
        if filters.department:
            dept = filters.department
            rows = np.array(
                [i for i in rows if dept in chunks[i].metadata.get("department", "")], dtype=np.int64
            )
        return rows

    def _boost(
        self, scores: np.ndarray, rows: np.ndarray, tokens: Sequence[str], filters: Filters, state: _Loaded
    ) -> np.ndarray:
        """Bonuses on the fused score: query words in the title (``title_weight``), the asked region, a
        follow-up's topic documents (``topic_boost``: the earlier answer's first document in full, the
        others half)."""
        s = self.settings
        if s.title_weight:
            words = [t for t in tokens if not t.startswith("#") and len(t) >= 2]
            if words:
                titles = (state.index.chunks[i].title for i in rows)
                share = [sum(w in title for w in words) / len(words) for title in titles]
                scores = scores + s.title_weight * np.array(share, dtype=np.float32)
        if filters.region:
            scores = scores + s.region_boost * (state.region[rows] == filters.region)
        if filters.prefer_docs and s.topic_boost:
            weight = {d: 1.0 if i == 0 else 0.5 for i, d in reversed(list(enumerate(filters.prefer_docs)))}
            chunks = state.index.chunks
            bonus = np.array([weight.get(chunks[i].doc_id, 0.0) for i in rows], dtype=np.float32)
            scores = scores + s.topic_boost * bonus
        return scores

    def _rerank(self, q: str, hits: list[Hit]) -> list[Hit]:
        """Hits in the cross-encoder's order when one is configured, else as they are."""
        if self.reranker is None or not hits:
            return hits
        scores = self.reranker.score(q, [h.chunk.text for h in hits])
        for h, sc in zip(hits, scores, strict=True):
            h.rerank_score = float(sc)
        return sorted(hits, key=lambda h: -(h.rerank_score or 0.0))

    def describe(self) -> dict[str, Any]:
        s = self.settings
        state = self._state
        return {
            "name": self.name,
            "fusion": s.fusion,
            "dense_weight": s.dense_weight,
            "keyword_weight": s.keyword_weight,
            "reranker": s.reranker or None,
            "chunks": len(state.index) if state else 0,
            "documents": len(state.index.manifest.documents) if state else 0,
            "vector_index": state.index.dense.kind if state else "",
            "generation": state.generation if state else None,
        }


def without_copies(ranked: Iterable[Chunk], limit: int) -> np.ndarray:
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
