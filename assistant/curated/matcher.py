"""Match a citizen's question against curated question variants: the query vector + a lexical check.

The pipeline already embeds the (rewritten) question for retrieval; the matcher compares that vector
with the embeddings of every in-force entry's question variants (cosine, the vectors are normalised)
and accepts the best entry only when

- its cosine is at least ``curated.threshold``, and
- the character-bigram Dice overlap with the matched variant is at least ``curated.min_lexical``
  (two questions about different things can sit close in embedding space — "二级班招生如何报名" and
  "二级班招生对象是否有年龄要求" — but a paraphrase shares words with its original), and
- it beats the runner-up entry by ``curated.margin`` (two entries this close: let retrieval decide), and
- the two do not *contrast*: name different numbers (交了三年 / 交了六年), colours (黄色预警 / 蓝色预警)
  or service variants (补领 / 换领). Embeddings put such pairs at cosine 0.93–0.95 with a high
  lexical overlap, yet their answers differ.

Thresholds are calibrated on the dev sets by ``python -m tools.calibrate_curated`` (docs/curated.md).
Entries are re-read from the ``CuratedSource`` only when its version changed; variant vectors are
cached by text, so an edit embeds only the variants that are new.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import numpy as np

from ..answering.grounding import bigrams
from ..config import CuratedSettings
from ..embedders import Embedder
from ..errors import AssistantError
from ..query import VARIANTS
from ..text import normalize_query
from ..validity import today_iso
from .entries import CuratedEntry, CuratedSource

log = logging.getLogger(__name__)


def _dice(ba: set[str], bb: set[str]) -> float:
    if not ba or not bb:
        return 0.0
    return 2 * len(ba & bb) / (len(ba) + len(bb))


def lexical_similarity(a: str, b: str) -> float:
    """Dice coefficient of the character bigrams of two normalised questions, 0..1."""
    return _dice(bigrams(normalize_query(a)), bigrams(normalize_query(b)))


_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUMBER = re.compile(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+(?=[年岁周个天月日级次倍元万%])")
_COLOURS = re.compile(r"[红橙黄蓝绿紫白黑]色")
_SERVICE = re.compile(
    "|".join(sorted((re.escape(v) for v in VARIANTS if v not in ("办理", "申请")), key=len, reverse=True))
)


def _cn_number(text: str) -> str:
    """A Chinese numeral (三, 十五, 二十, 一百二十) as digits; other text unchanged."""
    if text.isdigit() or not text:
        return text
    if "百" in text:
        head, _, tail = text.partition("百")
        return str(int(_cn_number(head) or 1) * 100 + int(_cn_number(tail) or 0))
    if "十" in text:
        head, _, tail = text.partition("十")
        return str(int(_cn_number(head) or 1) * 10 + int(_cn_number(tail) or 0))
    digits = "".join(str(_CN_DIGITS[c]) for c in text if c in _CN_DIGITS)
    return digits


def _terms(text: str) -> tuple[set[str], set[str], set[str]]:
    t = normalize_query(text)
    return (
        {_cn_number(m) for m in _NUMBER.findall(t) if m != "一"},  # 一年/一次: "a year", "once"
        set(_COLOURS.findall(t)),
        set(_SERVICE.findall(t)),
    )


def contrasts(a: str, b: str) -> bool:
    """True when both questions name numbers, colours or service variants, and not the same ones."""
    return any(x and y and x != y for x, y in zip(_terms(a), _terms(b), strict=True))


@dataclass
class CuratedMatch:
    """The entry a question matched, through which variant, with which scores."""

    entry: CuratedEntry
    variant: str
    score: float  # cosine of the question and the variant
    lexical: float  # bigram Dice of the question and the variant


@dataclass
class _Loaded:
    version: int
    entries: list[CuratedEntry]  # every stored entry; validity is applied per question
    owner: np.ndarray  # entry position of each variant row
    variants: list[str]
    grams: list[set[str]]  # character bigrams of each normalised variant
    vectors: np.ndarray  # (variants, dim), L2-normalised


class CuratedMatcher:
    """Finds the curated entry a question asks for. Cheap to build; ``warm_up`` loads the entries."""

    def __init__(
        self, embedder: Embedder, source: CuratedSource, settings: CuratedSettings, today: str = ""
    ) -> None:
        self.embedder = embedder
        self._source = source
        self.settings = settings
        self.today = today
        self._lock = threading.Lock()
        self._state: _Loaded | None = None
        self._cache: dict[str, np.ndarray] = {}  # normalised variant -> vector

    @property
    def source(self) -> CuratedSource:
        return self._source

    @source.setter
    def source(self, source: CuratedSource) -> None:
        """Read from another source from now on (its versions do not compare with the old one's)."""
        with self._lock:
            self._source, self._state = source, None

    def warm_up(self) -> None:
        self._current()

    def _embed(self, text: str) -> np.ndarray:
        key = normalize_query(text)[:256]
        vec = self._cache.get(key)
        if vec is None:
            vec = self._cache[key] = np.asarray(self.embedder.embed_query(key), dtype=np.float32)
        return vec

    def _current(self) -> _Loaded:
        """The loaded entries, re-read when the source's version moved."""
        version = self._source.curated_version()
        state = self._state
        if state is not None and state.version == version:
            return state
        with self._lock:
            if self._state is not None and self._state.version == version:
                return self._state
            try:
                entries = [e for e in self._source.curated_entries() if e.questions]
            except AssistantError as exc:  # the store is down: answer without curated entries for now
                log.warning("curated answers not reloaded: %s", exc)
                if self._state is not None:
                    return self._state
                entries, version = [], -1  # -1: try again on the next question
            owner, variants, vecs = [], [], []
            for pos, entry in enumerate(entries):
                for q in entry.questions:
                    if q.strip():
                        owner.append(pos)
                        variants.append(q)
                        vecs.append(self._embed(q))
            keep = {normalize_query(v)[:256] for v in variants}
            self._cache = {k: v for k, v in self._cache.items() if k in keep}
            dim = vecs[0].shape[0] if vecs else 1
            self._state = _Loaded(
                version=version,
                entries=entries,
                owner=np.asarray(owner, dtype=np.int64),
                variants=variants,
                grams=[bigrams(normalize_query(v)) for v in variants],
                vectors=np.vstack(vecs) if vecs else np.zeros((0, dim), dtype=np.float32),
            )
            log.info(
                "curated answers loaded: %d entries, %d variants (v%s)", len(entries), len(variants), version
            )
            return self._state

    def candidates(
        self, question: str, vector: np.ndarray | None, today: str = "", limit: int = 4
    ) -> list[CuratedMatch]:
        """The ``limit`` in-force entries nearest to ``question``, each with its best variant, best first.

        ``vector`` is the question's query embedding (the retriever's); None embeds ``question`` here.
        """
        state = self._current()
        if not state.variants:
            return []
        qvec = self._embed(question) if vector is None else np.asarray(vector, dtype=np.float32)
        day = today_iso(today, self.today)
        # einsum, not BLAS: a small matrix-vector product is faster single-threaded than through a
        # BLAS thread pool on a busy 2-core box (3,000 variants: ~2 ms vs ~20 ms under load)
        cos = np.einsum("ij,j->i", state.vectors, qvec)
        qgrams = bigrams(normalize_query(question))
        best: dict[int, CuratedMatch] = {}
        for row in np.argsort(-cos):
            if len(best) >= limit:
                break
            pos = int(state.owner[row])
            if pos in best or not state.entries[pos].in_force(day):
                continue
            variant = state.variants[row]
            lexical = _dice(qgrams, state.grams[row])
            best[pos] = CuratedMatch(state.entries[pos], variant, float(cos[row]), lexical)
        return sorted(best.values(), key=lambda m: -m.score)

    def match(self, question: str, vector: np.ndarray | None, today: str = "") -> CuratedMatch | None:
        """The curated entry that answers ``question``, or None (then the normal path answers)."""
        if not self.settings.enabled:
            return None
        return decide(question, self.candidates(question, vector, today), self.settings)


def decide(question: str, candidates: list[CuratedMatch], settings: CuratedSettings) -> CuratedMatch | None:
    """The rule: best cosine ≥ threshold, its lexical overlap ≥ min_lexical, ahead of the next entry with
    another answer by ``margin``, and no contrast between the question and the matched variant."""
    if not candidates:
        return None
    top = candidates[0]
    if top.score < settings.threshold or top.lexical < settings.min_lexical:
        return None
    others = [c for c in candidates[1:] if c.entry.answer != top.entry.answer]
    if others and top.score - others[0].score < settings.margin:
        return None
    return None if contrasts(question, top.variant) else top
