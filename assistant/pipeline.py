"""The ``Assistant``: parse → rewrite → retrieve → intent → curated → hand off / refuse / clarify / answer, for the API and evals.

It knows nothing of HTTP. Every stage's time is reported in ``Answer.timings`` (milliseconds). The
intent model (``answer.intent``) classifies the self-contained question with the query vector the
retriever already computed; its label and probability go on ``Answer.intent``. The same vector looks
the question up among operators' curated answers (``assistant.curated``); a match is handed to
``respond``, which gives it after the hand-off checks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .answering.base import Answerer, ChunkSource, make_answerer
from .answering.respond import respond
from .config import Settings
from .conversation import (
    asks_something,
    is_follow_up,
    names_own_topic,
    previous_question,
    rewrite,
    topic_documents,
)
from .curated import CuratedMatcher, CuratedSource, MemoryCuratedSource, curated_answer
from .embedders import Embedder, make_embedder
from .errors import ConfigError, InvalidInputError
from .intent import IntentClassifier, make_intent_classifier
from .query import Query
from .retrieval import HybridRetriever, Retriever
from .safety import mask_answer
from .screening.moderation import Moderator
from .text import load_tokenizer
from .types import Answer, Event, Filters, Hit, Turn
from .validity import today_iso

log = logging.getLogger(__name__)

TOPIC_HITS = 3  # a message names its own topic when one of its words is in these hits' titles
TOPIC_DOCS = 3  # a follow-up prefers this many of the previous answer's documents
DELTA_CHARS = 24  # a streamed answer's text comes in pieces of about this many characters


class AnswerStream:
    """``Assistant.stream``'s result: iterate it for the events; ``answer`` is the finished ``Answer``.

    The answer is computed when the first event is asked for (so invalid input raises there, before a
    route commits to a 200), and ``answer`` is set from then on: routes store and count it instead of
    rebuilding it from the events.
    """

    def __init__(self, compute: Callable[[], Answer]) -> None:
        self._compute = compute
        self._answer: Answer | None = None
        self._events: Iterator[Event] = self._generate()

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            raise RuntimeError("the stream has not started: iterate it first")
        return self._answer

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        return next(self._events)

    def _generate(self) -> Iterator[Event]:
        ans = self._answer = self._compute()
        yield from answer_events(ans)


def answer_events(ans: Answer) -> Iterator[Event]:
    """Typed events of a finished answer: meta, delta…, citations, card?, handoff?, clarify?, done."""
    meta = {
        "answered_by": ans.answered_by,
        "confidence": ans.confidence,
        "moderation": ans.moderation.to_dict(),
        "label": ans.label.to_dict(),
    }
    yield Event("meta", {"question": ans.question, "rewritten_question": ans.rewritten_question, **meta})
    for i in range(0, len(ans.text), DELTA_CHARS):
        yield Event("delta", {"text": ans.text[i : i + DELTA_CHARS]})
    yield Event("citations", {"citations": [c.to_dict() for c in ans.citations]})
    if ans.card is not None:
        yield Event("card", ans.card.to_dict())
    if ans.handoff is not None:
        yield Event("handoff", ans.handoff.to_dict())
    if ans.clarify is not None:
        yield Event("clarify", ans.clarify.to_dict())
    done = {"answered_by": ans.answered_by, "timings": ans.timings}
    yield Event("done", {**done, "moderation": meta["moderation"], "label": meta["label"]})


class Assistant:
    """The one object the API and evals call."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever,
        answerer: Answerer,
        intent: IntentClassifier | None = None,
        chunk_source: ChunkSource | None = None,
        curated: CuratedMatcher | None = None,
        embedder: Embedder | None = None,
        moderator: Moderator | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self.answerer = answerer
        self.intent = intent  # None: the rule classifier alone (answer.intent = none, or a fallback)
        # content screening, the answer guard and labels (screening.*, label.*); cheap until warm_up
        self.moderator = moderator if moderator is not None else Moderator(settings)
        # a document's chunks: hand-offs read a service item's fields, curated answers cite their sources
        self.chunk_source = chunk_source
        self._chunks_of = chunk_source or (lambda doc_id: [])
        self.curated = curated  # None: no curated answers
        self.embedder = embedder  # the query embedder (insights cluster questions with it)
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        """Wire the configured backends; cheap — nothing is loaded until ``warm_up()``."""
        embedder = make_embedder(settings.embedder)
        retriever = HybridRetriever(
            settings.index_dir, embedder, settings.retrieval, settings.today, index_settings=settings.index
        )
        name = settings.answer.intent
        intent = make_intent_classifier(name, embedder) if name != "none" else None
        curated = CuratedMatcher(embedder, MemoryCuratedSource(), settings.curated, settings.today)
        chunks = retriever.chunks_of
        answerer = make_answerer(settings, chunk_source=chunks)
        return cls(settings, retriever, answerer, intent, chunks, curated, embedder)

    def use_curated_source(self, source: CuratedSource) -> None:
        """Read curated answers from ``source`` (the app's database) instead of the empty default."""
        if self.curated is not None:
            self.curated.source = source
            if self._ready:
                self.curated.warm_up()

    def warm_up(self) -> None:
        """Open the index and load models; raises ``IndexMissingError`` when there is no index."""
        self.retriever.warm_up()
        self.answerer.warm_up()
        if self.intent is not None:
            try:
                self.intent.warm_up()
            except ConfigError as exc:  # e.g. the hash embedder, or weights trained with another one
                log.warning("intent model %r not used, rule classifier only: %s", self.intent.name, exc)
                self.intent = None
        if self.curated is not None:
            self.curated.warm_up()  # embeds the entries' question variants
        load_tokenizer()  # the tokenizer Query.parse uses, so the first question does not pay for it
        self.moderator.warm_up()
        self._ready = True

    @property
    def ready(self) -> bool:
        return self._ready

    def refresh_index(self) -> bool:
        """Serve the index generation ``CURRENT`` names now (after an ingest job, a rollback, or a
        notice from another replica); True when it swapped. Answers in flight finish on the old one."""
        return self._ready and self.retriever.refresh()

    def search(self, query: str, k: int = 5, region: str | None = None) -> list[Hit]:
        return self.retriever.search(query, k=k, filters=Filters(region=region, today=self.settings.today))

    def answer(self, question: str, history: Sequence[Turn] = (), region: str | None = None) -> Answer:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        question = (question or "").strip()
        if not question:
            raise InvalidInputError("question is empty")
        t = time.perf_counter()
        screened = self.moderator.screen_input(question)
        timings["screen_ms"] = _ms(t)
        if screened is not None:  # unsafe message: a polite reply, nothing retrieved
            return self._finish(screened, timings, started)
        t = time.perf_counter()
        # evals collapse these to documents; answerers use the top few
        k = max(self.settings.retrieval.top_k, 20)
        filters = Filters(region=region, today=self.settings.today)
        query, hits, vector = self._understand(question, history, k, filters)
        timings["retrieve_ms"] = _ms(t)
        if self.intent is not None:
            t = time.perf_counter()
            query = query.with_intent(self.intent.predict(query.text, vector))
            timings["intent_ms"] = _ms(t)
        curated = self._curated(query, vector, timings)
        t = time.perf_counter()
        ans = respond(
            query,
            hits,
            answerer=self.answerer,
            settings=self.settings,
            relevance_floor=self.retriever.relevance_floor,
            curated=curated,
            chunk_source=self.chunk_source,
        )
        if query.intent is not None:
            ans.intent, ans.intent_confidence = query.intent.label, round(query.intent.confidence, 4)
        timings["answer_ms"] = _ms(t)
        t = time.perf_counter()
        # the guard reads the hits the answer was built from (respond keeps only current ones)
        self.moderator.screen_output(ans, ans.hits or hits)
        timings["guard_ms"] = _ms(t)
        return self._finish(ans, timings, started)

    def _finish(self, ans: Answer, timings: dict[str, float], started: float) -> Answer:
        """Mask personal data, label the answer, close the timings."""
        mask_answer(ans)  # a source may quote someone's card or ID number
        self.moderator.label(ans)
        timings["total_ms"] = _ms(started)
        ans.timings = timings
        return ans

    def _understand(
        self, question: str, history: Sequence[Turn], k: int, filters: Filters
    ) -> tuple[Query, list[Hit], np.ndarray | None]:
        """The parsed question and what retrieval found for it, with follow-ups resolved.

        Without history: one search. In a conversation, a message that does not plainly lean on the
        previous turn (``is_follow_up``) is first searched by itself; if it names its own topic
        (``names_own_topic``: one of its words is in its hits' titles) or asks nothing ("谢谢", "我要投诉":
        ``asks_something``), that is the answer's search.
        Otherwise it is a follow-up: rewritten with the previous topic and searched preferring the
        documents the previous answer cited (``Turn.doc_ids``; found again by searching the previous
        question when the history does not carry them), then wider (``Filters.prefer_docs``).
        """
        previous = previous_question(history) if history else ""
        if previous and not is_follow_up(question):
            hits, vector = self.retriever.search_with_vector(question, k=k, filters=filters)
            titles = [h.chunk.title for h in hits[:TOPIC_HITS]]
            if names_own_topic(question, titles) or not asks_something(question):
                return Query.parse(question), hits, vector
        if not previous:
            hits, vector = self.retriever.search_with_vector(question, k=k, filters=filters)
            return Query.parse(question), hits, vector
        topic = topic_documents(history)
        if not topic:  # a history without citations (evals, the OpenAI-compatible route): search it again
            found = self.retriever.search(previous, k=k, filters=filters)
            topic = tuple(dict.fromkeys(h.doc_id for h in found))[:TOPIC_DOCS]
        query = Query.parse(question, rewrite(question, history, follow_up=True)).with_topic(topic)
        wide = replace(filters, prefer_docs=topic)
        hits, vector = self.retriever.search_with_vector(query.text, k=k, filters=wide)
        return query, hits, vector

    def has_document(self, doc_id: str) -> bool:
        """True when the loaded index holds ``doc_id`` (curated answers cite documents by id)."""
        return bool(self._chunks_of(doc_id)) if self._ready else False

    def _curated(self, query: Query, vector: Any, timings: dict[str, float]) -> Answer | None:
        """The curated answer ``query`` asks for (``assistant.curated``), or None."""
        if self.curated is None:
            return None
        t = time.perf_counter()
        match = self.curated.match(query.text, vector)
        found = curated_answer(match, self._chunks_of, today_iso(self.settings.today)) if match else None
        timings["curated_ms"] = _ms(t)
        return found

    def stream(self, question: str, history: Sequence[Turn] = (), region: str | None = None) -> AnswerStream:
        """The answer as typed events (see ``answer_events``), with the finished ``Answer`` on the side."""
        return AnswerStream(lambda: self.answer(question, history=history, region=region))

    def describe(self) -> dict[str, Any]:
        retriever = self.retriever.describe()
        return {
            "embedder": self.settings.embedder.name,
            "retriever": retriever,
            "answerer": self.answerer.name,
            "intent": self.intent.name if self.intent is not None else "none",
            "index_size": retriever["chunks"],
            "documents": retriever["documents"],
        }


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 3)
