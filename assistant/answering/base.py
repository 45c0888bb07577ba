"""The Answerer seam: protocol, registry, and helpers shared by every answerer (validity, citations)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.types import STATUS_REPEALED, Answer, Chunk, Citation, Event, Hit

# doc_id -> that document's chunks in order; lets an answerer quote a whole short document or build a
# card from all of a guide's sections. Provided by the index (cheap dict lookup), optional.
ChunkSource = Callable[[str], Sequence[Chunk]]

SNIPPET_CHARS = 160


@runtime_checkable
class Answerer(Protocol):
    """Turns a question and its retrieved hits into a cited ``Answer``."""

    name: str

    def warm_up(self) -> None:
        """Load whatever the answerer needs (models, clients); called once at start-up."""
        ...

    def answer(self, question: str, hits: list[Hit], *, channel: str = "api") -> Answer:
        """Compose text + citations (+ card) from ``hits``; ``answered_by`` says which path wrote it."""
        ...


AnswererFactory = Callable[[Settings, "ChunkSource | None"], Answerer]
ANSWERERS: dict[str, AnswererFactory] = {}


def register(name: str) -> Callable[[AnswererFactory], AnswererFactory]:
    """Decorator adding a factory to ``ANSWERERS`` under ``name``."""

    def deco(factory: AnswererFactory) -> AnswererFactory:
        ANSWERERS[name] = factory
        return factory

    return deco


def make_answerer(settings: Settings, chunk_source: ChunkSource | None = None) -> Answerer:
    """The answerer ``settings.answer.answerer`` names (cheap: nothing is loaded until ``warm_up``)."""
    from assistant.answering import extractive, llm  # noqa: F401  (registers the built-in answerers)

    name = settings.answer.answerer
    if name not in ANSWERERS:
        raise ConfigError(f"unknown answerer {name!r}; known: {', '.join(sorted(ANSWERERS))}")
    return ANSWERERS[name](settings, chunk_source)


def stream_answer(answer: Answer, chunk_chars: int = 24) -> Iterator[Event]:
    """Default streaming for a finished answer: the text as ``delta`` events of about ``chunk_chars``."""
    text = answer.text
    for i in range(0, len(text), chunk_chars):
        yield Event("delta", {"text": text[i : i + chunk_chars]})


# ----------------------------------------------------------------------------- validity


def today_iso(settings_today: str = "") -> str:
    return settings_today or _dt.date.today().isoformat()


def is_current(meta: dict[str, object], today: str) -> bool:
    """False for repealed documents and documents whose expiry date has passed."""
    if str(meta.get("status", "") or "") == STATUS_REPEALED:
        return False
    expiry = str(meta.get("expiry_date", "") or "")
    return not (expiry and expiry < today)


def current_hits(hits: Sequence[Hit], today: str) -> list[Hit]:
    """``hits`` without repealed or expired documents (retrieval filters too; this is the last guard)."""
    return [h for h in hits if is_current(h.chunk.metadata, today)]


@dataclass
class DocGroup:
    """All hits of one document, best first; ``score`` is the best hit's score."""

    doc_id: str
    hits: list[Hit]

    @property
    def top(self) -> Hit:
        return self.hits[0]

    @property
    def score(self) -> float:
        return self.hits[0].score

    @property
    def type(self) -> str:
        return str(self.top.chunk.metadata.get("type", "") or "")


def group_by_doc(hits: Sequence[Hit]) -> list[DocGroup]:
    """Hits grouped per document, documents in the order of their best hit."""
    groups: dict[str, DocGroup] = {}
    for h in hits:
        g = groups.get(h.doc_id)
        if g is None:
            groups[h.doc_id] = DocGroup(h.doc_id, [h])
        else:
            g.hits.append(h)
    return list(groups.values())


def make_citation(n: int, hit: Hit, snippet: str = "") -> Citation:
    """A numbered citation from a hit's chunk metadata; ``snippet`` defaults to the chunk's opening."""
    c, m = hit.chunk, hit.chunk.metadata

    def s(key: str) -> str:
        return str(m.get(key, "") or "")

    text = snippet or c.text
    if len(text) > SNIPPET_CHARS and not snippet:
        text = text[:SNIPPET_CHARS] + "…"
    return Citation(
        n=n,
        doc_id=c.doc_id,
        chunk_id=c.id,
        title=c.title or s("title"),
        snippet=text,
        type=s("type"),
        doc_number=s("doc_number"),
        issuer=s("issuer"),
        department=s("department"),
        region=s("region"),
        publish_date=s("publish_date"),
        effective_date=s("effective_date"),
        status=s("status") or "现行有效",
        url=s("url"),
        score=round(float(hit.score), 4),
    )
