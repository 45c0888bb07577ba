"""Reviewers' verdicts on stored answers (correct | wrong | needs_curated)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, select

from ..errors import InvalidInputError
from ..safety import mask_pii
from .base import Transactions
from .models import ReviewRow

VERDICTS = ("correct", "wrong", "needs_curated")


@dataclass(frozen=True)
class Review:
    id: int
    request_id: str
    verdict: str
    note: str
    reviewer: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _review(r: ReviewRow) -> Review:
    return Review(r.id, r.request_id, r.verdict, r.note, r.reviewer, r.at)


class Reviews:
    def __init__(self, engine: Engine) -> None:
        self._tx = Transactions(engine)

    def add(self, request_id: str, verdict: str, *, reviewer: str, note: str = "") -> Review:
        if verdict not in VERDICTS:
            raise InvalidInputError(f"verdict must be one of {VERDICTS}")
        row = ReviewRow(
            request_id=request_id, verdict=verdict, note=mask_pii(note), reviewer=reviewer, at=time.time()
        )
        with self._tx() as s:
            s.add(row)
            s.flush()
            return _review(row)

    def list(
        self,
        *,
        request_id: str | None = None,
        verdict: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[Review]:
        """Reviews matching the filters, newest first."""
        query = select(ReviewRow)
        if request_id is not None:
            query = query.where(ReviewRow.request_id == request_id)
        if verdict is not None:
            query = query.where(ReviewRow.verdict == verdict)
        if since is not None:
            query = query.where(ReviewRow.at >= since)
        with self._tx() as s:
            return [_review(r) for r in s.scalars(query.order_by(ReviewRow.id.desc()).limit(limit))]
