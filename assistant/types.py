"""Plain data types shared by ingestion, retrieval, answering, the API and evals.

Dataclasses rather than pydantic models: they cross hot paths (thousands of chunks per query) and
the API layer owns its own wire schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

DocType = Literal["guide", "policy", "law", "faq", "page"]

STATUS_CURRENT = "现行有效"
STATUS_REVISED = "已修订"
STATUS_REPEALED = "已废止"


@dataclass
class Section:
    """One titled part of a document (a guide field, a law chapter, a FAQ answer)."""

    heading: str
    text: str
    kind: str = ""  # e.g. conditions | materials | process | time_fees | place_contact | chapter | faq


@dataclass
class Document:
    """A knowledge document as loaded from ``knowledge/``: one guide, policy, law, FAQ pair or page."""

    id: str
    title: str
    type: str  # one of DocType
    text: str  # full plain text (used for hashing and as a fallback for chunking)
    source: str = ""  # path relative to the knowledge directory (or "corpus:<file>")
    department: str = ""
    region: str = ""
    doc_number: str = ""  # 文号
    issuer: str = ""
    publish_date: str = ""  # ISO yyyy-mm-dd or ""
    effective_date: str = ""
    expiry_date: str = ""
    status: str = STATUS_CURRENT
    url: str = ""
    aliases: list[str] = field(default_factory=list)  # 俗称/简称
    sections: list[Section] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)  # structured guide fields (for cards)

    def metadata(self) -> dict[str, Any]:
        """Metadata copied onto every chunk of this document (with ``ocr``: per-page confidences of a scan)."""
        extra = {"ocr": self.fields["ocr"]} if "ocr" in self.fields else {}
        return {
            **extra,
            "doc_id": self.id,
            "title": self.title,
            "type": self.type,
            "source": self.source,
            "department": self.department,
            "region": self.region,
            "doc_number": self.doc_number,
            "issuer": self.issuer,
            "publish_date": self.publish_date,
            "effective_date": self.effective_date,
            "expiry_date": self.expiry_date,
            "status": self.status,
            "url": self.url,
            "aliases": list(self.aliases),
        }


@dataclass
class Chunk:
    """A retrievable piece of a document. ``text`` is what is shown; ``embed_text`` what is embedded."""

    id: str  # "<doc_id>#<n>"
    doc_id: str
    text: str
    title: str
    section: str = ""
    kind: str = ""
    embed_text: str = ""  # text with context (title, 文号, section); defaults to text
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chunk:
        return cls(**dict(data))


@dataclass
class Hit:
    """A retrieved chunk with its fused score and the rank it had on each side (None: not a candidate)."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    keyword_score: float | None = None
    dense_rank: int | None = None
    keyword_rank: int | None = None
    rerank_score: float | None = None

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id


@dataclass
class Filters:
    """Metadata restrictions and preferences for a search."""

    region: str | None = None
    department: str | None = None
    types: list[str] | None = None
    include_expired: bool = False
    today: str = ""  # ISO date; "" = real today


@dataclass
class Citation:
    """A source an answer relies on, numbered as in the answer's ``[n]`` markers."""

    n: int
    doc_id: str
    chunk_id: str
    title: str
    snippet: str
    type: str = ""
    doc_number: str = ""
    issuer: str = ""
    department: str = ""
    region: str = ""
    publish_date: str = ""
    effective_date: str = ""
    status: str = STATUS_CURRENT
    url: str = ""
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CardField:
    """One labelled row of a service card; ``items`` set for checklists (申请材料)."""

    key: str  # conditions | materials | process | time_limit | fees | location | hours | phone | online_url | basis
    label: str  # 申请条件, 所需材料, ...
    value: str = ""
    items: list[str] = field(default_factory=list)


@dataclass
class Card:
    """Structured answer for a service guide: only fields the source has."""

    title: str
    doc_id: str
    department: str = ""
    region: str = ""
    fields: list[CardField] = field(default_factory=list)
    online_url: str = ""
    phone: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Handoff:
    """Machine-readable hand-off: why, and where the citizen should go instead."""

    # low_confidence | individual_case | complaint | human_requested | no_knowledge | other_region
    reason: str
    message: str
    hotline: str = "12345"
    channels: list[str] = field(default_factory=list)
    department: str = ""
    department_phone: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ClarifyOption:
    label: str
    question: str  # the question to send if the citizen picks this option
    doc_id: str = ""


@dataclass
class Clarify:
    """A clarifying question with choices, when top candidates are different items with close scores."""

    question: str
    options: list[ClarifyOption] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Turn:
    role: Literal["user", "assistant"]
    content: str


AnsweredBy = Literal[
    "extractive", "llm", "llm_fallback_extractive", "handoff", "clarify", "scope", "greeting", "curated"
]


@dataclass
class Answer:
    """What the assistant replies. ``hits`` are the retrieved chunks (not sent over the wire)."""

    text: str
    answered_by: str
    citations: list[Citation] = field(default_factory=list)
    card: Card | None = None
    handoff: Handoff | None = None
    clarify: Clarify | None = None
    question: str = ""
    rewritten_question: str = ""
    confidence: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # stage -> milliseconds
    hits: list[Hit] = field(default_factory=list)
    intent: str = ""  # the intent model's label of the question ("" without a model)
    intent_confidence: float | None = None  # its calibrated probability

    @property
    def answered(self) -> bool:
        """True when this is a substantive answer (not a hand-off or a clarifying question)."""
        return self.handoff is None and self.clarify is None and bool(self.citations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "answered_by": self.answered_by,
            "citations": [c.to_dict() for c in self.citations],
            "card": self.card.to_dict() if self.card else None,
            "handoff": self.handoff.to_dict() if self.handoff else None,
            "clarify": self.clarify.to_dict() if self.clarify else None,
            "question": self.question,
            "rewritten_question": self.rewritten_question,
            "confidence": self.confidence,
            "timings": self.timings,
            "intent": self.intent or None,
            "intent_confidence": self.intent_confidence,
        }


EventType = Literal["meta", "delta", "citations", "card", "handoff", "clarify", "done", "error"]


@dataclass
class Event:
    """One streamed event of ``Assistant.stream()``; ``data`` is JSON-serialisable."""

    type: str  # one of EventType
    data: dict[str, Any]
