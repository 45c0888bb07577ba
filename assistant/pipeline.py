"""The ``Assistant``: rewrite → retrieve → hand off / refuse / clarify / answer, for the API and evals.

It knows nothing of HTTP. Every stage's time is reported in ``Answer.timings`` (milliseconds).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from .answering.base import Answerer, make_answerer, stream_answer
from .answering.respond import respond
from .config import Settings
from .conversation import rewrite
from .embedders import make_embedder
from .errors import InvalidInputError
from .retrieval import HybridRetriever, Retriever
from .safety import mask_answer
from .types import Answer, Event, Filters, Hit, Turn


class Assistant:
    """The one object the API and evals call."""

    def __init__(self, settings: Settings, retriever: Retriever, answerer: Answerer) -> None:
        self.settings = settings
        self.retriever = retriever
        self.answerer = answerer
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        """Wire the configured backends; cheap — nothing is loaded until ``warm_up()``."""
        embedder = make_embedder(settings.embedder)
        retriever = HybridRetriever(settings.index_dir, embedder, settings.retrieval, settings.today)
        return cls(settings, retriever, make_answerer(settings, chunk_source=retriever.chunks_of))

    def warm_up(self) -> None:
        """Open the index and load models; raises ``IndexMissingError`` when there is no index."""
        load = getattr(self.retriever, "load", None)
        if load is not None:
            load()
        self.answerer.warm_up()
        self._ready = True

    @property
    def ready(self) -> bool:
        return self._ready

    def search(self, query: str, k: int = 5, region: str | None = None) -> list[Hit]:
        return self.retriever.search(query, k=k, filters=Filters(region=region, today=self.settings.today))

    def answer(
        self, question: str, history: Sequence[Turn] = (), region: str | None = None, channel: str = "api"
    ) -> Answer:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        question = (question or "").strip()
        if not question:
            raise InvalidInputError("question is empty")
        t = time.perf_counter()
        query = rewrite(question, history)
        timings["rewrite_ms"] = _ms(t)
        t = time.perf_counter()
        # evals collapse these to documents; answerers use the top few
        k = max(self.settings.retrieval.top_k, 20)
        hits = self.retriever.search(query, k=k, filters=Filters(region=region, today=self.settings.today))
        timings["retrieve_ms"] = _ms(t)
        t = time.perf_counter()
        floor = getattr(self.retriever, "relevance_floor", None)
        ans = respond(
            question,
            hits,
            answerer=self.answerer,
            settings=self.settings,
            rewritten=query,
            channel=channel,
            relevance_floor=floor,
        )
        mask_answer(ans)  # a source may quote someone's card or ID number
        timings["answer_ms"] = _ms(t)
        timings["total_ms"] = _ms(started)
        ans.timings = timings
        return ans

    def stream(
        self, question: str, history: Sequence[Turn] = (), region: str | None = None, channel: str = "api"
    ) -> Iterator[Event]:
        """Typed events: meta, delta…, citations, card?, handoff?, clarify?, done."""
        ans = self.answer(question, history=history, region=region, channel=channel)
        yield Event(
            "meta",
            {
                "question": ans.question,
                "rewritten_question": ans.rewritten_question,
                "answered_by": ans.answered_by,
                "confidence": ans.confidence,
            },
        )
        yield from stream_answer(ans)
        yield Event("citations", {"citations": [c.to_dict() for c in ans.citations]})
        if ans.card is not None:
            yield Event("card", ans.card.to_dict())
        if ans.handoff is not None:
            yield Event("handoff", ans.handoff.to_dict())
        if ans.clarify is not None:
            yield Event("clarify", ans.clarify.to_dict())
        yield Event("done", {"answered_by": ans.answered_by, "timings": ans.timings})

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "embedder": self.settings.embedder.name,
            "retriever": getattr(
                self.retriever, "describe", lambda: {"name": type(self.retriever).__name__}
            )(),
            "answerer": getattr(self.answerer, "name", type(self.answerer).__name__),
            "index_size": 0,
            "documents": 0,
        }
        if isinstance(self.retriever, HybridRetriever) and self.retriever.loaded:
            info["index_size"] = len(self.retriever.index)
            info["documents"] = len(self.retriever.index.manifest.documents)
        return info


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 3)
