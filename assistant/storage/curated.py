"""Curated answers: question variants with an approved answer, its sources and a validity window."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from ..errors import NotFoundError
from .base import Transactions
from .models import CuratedAnswerRow

EDITABLE = ("questions", "answer", "sources", "department", "valid_from", "valid_to", "status")


@dataclass
class CuratedAnswer:
    id: int
    questions: list[str]
    answer: str
    sources: list[str] = field(default_factory=list)  # document ids
    department: str = ""
    valid_from: str = ""  # ISO date, "" open
    valid_to: str = ""
    status: str = "draft"
    created_by: str = ""
    created_at: float = 0.0
    updated_by: str = ""
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _curated(r: CuratedAnswerRow) -> CuratedAnswer:
    return CuratedAnswer(
        r.id,
        list(r.questions or []),
        r.answer,
        list(r.sources or []),
        r.department,
        r.valid_from,
        r.valid_to,
        r.status,
        r.created_by,
        r.created_at,
        r.updated_by,
        r.updated_at,
    )


class CuratedAnswers:
    def __init__(self, engine: Engine) -> None:
        self._tx = Transactions(engine)

    def create(
        self,
        questions: list[str],
        answer: str,
        *,
        actor: str,
        sources: list[str] | None = None,
        department: str = "",
        valid_from: str = "",
        valid_to: str = "",
        status: str = "draft",
    ) -> CuratedAnswer:
        now = time.time()
        row = CuratedAnswerRow(
            questions=list(questions),
            answer=answer,
            sources=list(sources or []),
            department=department,
            valid_from=valid_from,
            valid_to=valid_to,
            status=status,
            created_by=actor,
            created_at=now,
            updated_by=actor,
            updated_at=now,
        )
        with self._tx() as s:
            s.add(row)
            s.flush()
            return _curated(row)

    def get(self, curated_id: int) -> CuratedAnswer | None:
        with self._tx() as s:
            row = s.get(CuratedAnswerRow, curated_id)
            return None if row is None else _curated(row)

    def list(self, *, status: str | None = None, department: str | None = None) -> list[CuratedAnswer]:
        query = select(CuratedAnswerRow).order_by(CuratedAnswerRow.id)
        if status is not None:
            query = query.where(CuratedAnswerRow.status == status)
        if department is not None:
            query = query.where(CuratedAnswerRow.department == department)
        with self._tx() as s:
            return [_curated(r) for r in s.scalars(query)]

    def update(self, curated_id: int, *, actor: str, **changes: Any) -> CuratedAnswer:
        """Change the named fields (any of ``EDITABLE``); ``NotFoundError`` for an unknown id."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        with self._tx() as s:
            row = s.get(CuratedAnswerRow, curated_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"unknown curated answer {curated_id}")
            for name, value in changes.items():
                setattr(row, name, list(value) if name in ("questions", "sources") else value)
            row.updated_by, row.updated_at = actor, time.time()
            s.flush()
            return _curated(row)

    def delete(self, curated_id: int) -> bool:
        with self._tx() as s:
            row = s.get(CuratedAnswerRow, curated_id)
            if row is None:
                return False
            s.delete(row)
        return True
