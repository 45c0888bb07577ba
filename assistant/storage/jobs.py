"""Background jobs (ingest, reindex, purge, ...): queued → running → done | failed, with progress."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from ..errors import ConflictError, NotFoundError
from .base import Transactions
from .models import JobRow

STATUSES = ("queued", "running", "done", "failed")
FINISHED = ("done", "failed")


@dataclass
class Job:
    id: str
    kind: str
    status: str
    progress: float = 0.0
    message: str = ""
    actor: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _job(r: JobRow) -> Job:
    return Job(
        r.id,
        r.kind,
        r.status,
        r.progress,
        r.message,
        r.actor,
        r.created_at,
        r.started_at,
        r.finished_at,
        dict(r.result or {}),
    )


class Jobs:
    def __init__(self, engine: Engine) -> None:
        self._tx = Transactions(engine)

    def create(self, kind: str, *, actor: str = "", message: str = "") -> Job:
        row = JobRow(
            id=uuid.uuid4().hex,
            kind=kind,
            status="queued",
            progress=0.0,
            message=message,
            actor=actor,
            created_at=time.time(),
            result={},
        )
        with self._tx() as s:
            s.add(row)
            s.flush()
            return _job(row)

    def get(self, job_id: str) -> Job | None:
        with self._tx() as s:
            row = s.get(JobRow, job_id)
            return None if row is None else _job(row)

    def list(self, *, kind: str | None = None, status: str | None = None, limit: int = 50) -> list[Job]:
        """Jobs matching the filters, newest first."""
        query = select(JobRow)
        if kind is not None:
            query = query.where(JobRow.kind == kind)
        if status is not None:
            query = query.where(JobRow.status == status)
        with self._tx() as s:
            return [_job(r) for r in s.scalars(query.order_by(JobRow.created_at.desc()).limit(limit))]

    def start(self, job_id: str, message: str = "") -> Job:
        """queued → running; ``ConflictError`` if another worker already started (or finished) it."""
        with self._tx() as s:
            row = self._row(s, job_id)
            if row.status != "queued":
                raise ConflictError(f"job {job_id} is {row.status}, not queued")
            row.status, row.started_at, row.message = "running", time.time(), message
            s.flush()
            return _job(row)

    def progress(self, job_id: str, progress: float, message: str = "") -> Job:
        with self._tx() as s:
            row = self._row(s, job_id)
            row.progress, row.message = max(0.0, min(1.0, progress)), message
            s.flush()
            return _job(row)

    def finish(
        self, job_id: str, *, ok: bool = True, message: str = "", result: dict[str, Any] | None = None
    ) -> Job:
        """running (or queued) → done / failed, with the outcome in ``result``."""
        with self._tx() as s:
            row = self._row(s, job_id)
            if row.status in FINISHED:
                raise ConflictError(f"job {job_id} already {row.status}")
            row.status = "done" if ok else "failed"
            row.finished_at, row.message, row.result = time.time(), message, dict(result or {})
            if ok:
                row.progress = 1.0
            s.flush()
            return _job(row)

    @staticmethod
    def _row(s: Any, job_id: str) -> JobRow:
        row = s.get(JobRow, job_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"unknown job {job_id}")
        return row  # type: ignore[no-any-return]
