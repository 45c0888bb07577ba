"""Wire models of the review side of the operator API: curated answers, exchanges, reviews, audit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

DATE = r"^(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))?$"
Variant = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=r"\S")]
DocId = Annotated[str, StringConstraints(min_length=1, max_length=300)]
CuratedStatus = Literal["draft", "published", "retired"]
VerdictName = Literal["correct", "wrong", "needs_curated"]


def _questions(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    cleaned = list(dict.fromkeys(q.strip() for q in value if q.strip()))
    if not cleaned:
        raise ValueError("at least one non-empty question is needed")
    return cleaned


class CuratedIn(BaseModel):
    """A curated answer: the question variants it answers, the text, the documents it rests on."""

    questions: list[Variant] = Field(min_length=1, max_length=30, description="question variants (≥ 1)")
    answer: str = Field(min_length=1, max_length=4000)
    sources: list[DocId] = Field(default_factory=list, max_length=20, description="document ids in the index")
    department: str = Field("", max_length=200)
    valid_from: str = Field("", pattern=DATE, description="ISO date; empty: no start")
    valid_to: str = Field("", pattern=DATE, description="ISO date, inclusive; empty: no end")
    status: CuratedStatus = Field("published", description="published entries answer citizens")
    from_exchange: str = Field(
        "", max_length=128, description="request id of the exchange it fixes (audited)"
    )

    _q = field_validator("questions")(_questions)


class CuratedPatch(BaseModel):
    """Fields to change (absent: unchanged)."""

    questions: list[Variant] | None = Field(None, min_length=1, max_length=30)
    answer: str | None = Field(None, min_length=1, max_length=4000)
    sources: list[DocId] | None = Field(None, max_length=20)
    department: str | None = Field(None, max_length=200)
    valid_from: str | None = Field(None, pattern=DATE)
    valid_to: str | None = Field(None, pattern=DATE)
    status: CuratedStatus | None = None

    _q = field_validator("questions")(_questions)


class CuratedCreated(BaseModel):
    id: int
    unknown_sources: list[str] = Field(
        default_factory=list, description="source ids the index does not hold (yet)"
    )


class CuratedOut(BaseModel):
    id: int
    questions: list[str]
    answer: str
    sources: list[str]
    department: str
    valid_from: str
    valid_to: str
    status: str
    created_by: str
    created_at: float
    updated_by: str
    updated_at: float


class CuratedList(BaseModel):
    items: list[CuratedOut]
    total: int


class CuratedDraft(BaseModel):
    """A curated answer pre-filled from a stored exchange (not saved: the editor reviews and saves it)."""

    questions: list[str]
    answer: str
    sources: list[str]
    department: str
    from_exchange: str
    verdict: str = ""
    note: str = ""


class ReviewIn(BaseModel):
    verdict: VerdictName
    note: str = Field("", max_length=2000)


class ReviewOut(BaseModel):
    request_id: str
    verdict: str
    note: str
    reviewer: str
    at: str


class ExchangeList(BaseModel):
    items: list[dict[str, Any]] = Field(
        description="exchanges, newest first, PII masked, with hits and scores"
    )
    total: int
    limit: int
    offset: int


class AuditItem(BaseModel):
    id: int
    actor: str
    role: str
    action: str
    target: str
    at: str = Field(description="ISO 8601 UTC")
    at_ts: float
    before: Any = None
    after: Any = None


class AuditList(BaseModel):
    items: list[AuditItem]
    limit: int
    offset: int
    has_more: bool


class Insights(BaseModel):
    model_config = {"extra": "allow"}

    total: int
    charts: dict[str, str] = Field(description="accessible SVG charts by name")
