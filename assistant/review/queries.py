"""The console's read side of stored exchanges: a filtered, paginated listing with feedback and the
latest review, straight from the state database's tables (SQLite or PostgreSQL).

Filters: date range, channel, answered_by, hand-off reason, rating, confidence below x, department,
text (in question or answer), verdict (``unreviewed`` for none). Newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased

from ..sessions import Exchange
from ..storage import Database
from ..storage.base import Transactions
from ..storage.models import ExchangeRow, FeedbackRow, ReviewRow
from ..storage.sessions import to_exchange
from .records import Verdict

PAGE_MAX = 500
EXPORT_BATCH = 500


@dataclass
class ExchangeFilter:
    since: float | None = None  # inclusive, seconds since the epoch
    until: float | None = None  # exclusive
    channel: str | None = None
    answered_by: str | None = None
    handoff: str | None = None
    rating: str | None = None  # up | down | none
    confidence_below: float | None = None
    department: str | None = None
    text: str | None = None
    verdict: str | None = None  # correct | wrong | needs_curated | unreviewed | reviewed
    request_id: str | None = None


def _latest_review() -> Select[tuple[int]]:
    return select(func.max(ReviewRow.id)).group_by(ReviewRow.request_id)


def _query(f: ExchangeFilter) -> Select[tuple[ExchangeRow, FeedbackRow, ReviewRow]]:
    review = aliased(ReviewRow)
    q = (
        select(ExchangeRow, FeedbackRow, review)
        .outerjoin(FeedbackRow, FeedbackRow.request_id == ExchangeRow.request_id)
        .outerjoin(
            review,
            (review.request_id == ExchangeRow.request_id) & review.id.in_(_latest_review()),
        )
    )
    conds = []
    if f.since is not None:
        conds.append(ExchangeRow.created_at >= f.since)
    if f.until is not None:
        conds.append(ExchangeRow.created_at < f.until)
    if f.channel:
        conds.append(ExchangeRow.channel == f.channel)
    if f.answered_by:
        conds.append(ExchangeRow.answered_by == f.answered_by)
    if f.handoff:
        conds.append(ExchangeRow.handoff == f.handoff)
    if f.rating == "none":
        conds.append(FeedbackRow.rating.is_(None))
    elif f.rating:
        conds.append(FeedbackRow.rating == f.rating)
    if f.confidence_below is not None:
        conds.append(ExchangeRow.confidence < f.confidence_below)
    if f.department:
        conds.append(ExchangeRow.department.contains(f.department, autoescape=True))
    if f.text:
        conds.append(
            or_(
                ExchangeRow.question.contains(f.text, autoescape=True),
                ExchangeRow.answer.contains(f.text, autoescape=True),
            )
        )
    if f.verdict == "unreviewed":
        conds.append(review.id.is_(None))
    elif f.verdict == "reviewed":
        conds.append(review.id.is_not(None))
    elif f.verdict:
        conds.append(review.verdict == f.verdict)
    if f.request_id:
        conds.append(ExchangeRow.request_id == f.request_id)
    return q.where(*conds)


def _verdict(r: ReviewRow | None) -> Verdict | None:
    return None if r is None else Verdict(r.verdict, r.note, r.reviewer, r.at)


def list_exchanges(
    db: Database, f: ExchangeFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[tuple[Exchange, Verdict | None]], int]:
    """One page of matching exchanges (newest first) with their latest verdicts, and the total count."""
    q = _query(f)
    with Transactions(db.engine)() as s:  # database failures become StorageError (503)
        total = int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)
        rows = s.execute(q.order_by(ExchangeRow.id.desc()).limit(min(limit, PAGE_MAX)).offset(offset)).all()
        return [(to_exchange(ex, fb), _verdict(rv)) for ex, fb, rv in rows], total


def iter_exchanges(
    db: Database, f: ExchangeFilter, cap: int = 100_000
) -> Iterator[tuple[Exchange, Verdict | None]]:
    """Every matching exchange, newest first, in batches (exports); at most ``cap``."""
    offset = 0
    while offset < cap:
        page, _ = list_exchanges(db, f, limit=EXPORT_BATCH, offset=offset)
        yield from page
        if len(page) < EXPORT_BATCH:
            return
        offset += EXPORT_BATCH
