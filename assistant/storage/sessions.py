"""``SQLSessionStore``: the ``SessionStore`` protocol on the state database (SQLite or PostgreSQL).

Texts are masked with ``mask_pii`` before they are written (``assistant.sessions.masked``). Deleting
a session removes its rows for good; on SQLite ``secure_delete`` overwrites them in the file and a
WAL checkpoint copies that into the main file, so the text is not left in the log either.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, delete, select

from ..errors import ConflictError
from ..safety import mask_pii
from ..sessions import RATINGS, Exchange, masked
from .base import Transactions, insert_for, rowcount
from .models import ExchangeRow, FeedbackRow, SessionRow

PURGE_EVERY_S = 60.0  # how often creating a session also deletes expired ones


class SQLSessionStore:
    """Sessions, exchanges and feedback in SQL tables; shared by every replica that uses the same URL."""

    def __init__(self, engine: Engine, idle_seconds: float = 0.0, *, owns_engine: bool = False) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self._tx = Transactions(engine)
        self._owns_engine = owns_engine
        self._purged_at = 0.0

    def _cutoff(self) -> float:
        return time.time() - self.idle_seconds if self.idle_seconds > 0 else 0.0

    def create(self, session_id: str, owner: str) -> None:
        now = time.time()
        with self._tx() as s:
            s.add(SessionRow(session_id=session_id, owner=owner, created_at=now, last_active=now))
        if self.idle_seconds > 0 and now - self._purged_at > PURGE_EVERY_S:
            self._purged_at = now
            self.purge_expired()

    def purge_expired(self) -> int:
        """Delete sessions idle past ``idle_seconds`` with their exchanges and feedback; how many went."""
        cutoff = self._cutoff()
        if not cutoff:
            return 0
        old = select(SessionRow.session_id).where(SessionRow.last_active < cutoff)
        return self._delete_sessions(old)

    def _delete_sessions(self, which: Any) -> int:
        with self._tx() as s:
            rids = select(ExchangeRow.request_id).where(ExchangeRow.session_id.in_(which))
            s.execute(delete(FeedbackRow).where(FeedbackRow.request_id.in_(rids)))
            n = rowcount(s.execute(delete(ExchangeRow).where(ExchangeRow.session_id.in_(which))))
            n += rowcount(s.execute(delete(SessionRow).where(SessionRow.session_id.in_(which))))
        return n

    def owner(self, session_id: str) -> str | None:
        with self._tx() as s:
            return s.scalar(
                select(SessionRow.owner).where(
                    SessionRow.session_id == session_id, SessionRow.last_active >= self._cutoff()
                )
            )

    def session_of(self, request_id: str) -> str | None:
        with self._tx() as s:
            return s.scalar(select(ExchangeRow.session_id).where(ExchangeRow.request_id == request_id))

    def append(self, exchange: Exchange) -> None:
        ex = masked(exchange)
        upsert = insert_for(self.engine, SessionRow).values(
            session_id=ex.session_id, owner="", created_at=ex.created_at, last_active=ex.created_at
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[SessionRow.session_id], set_={"last_active": upsert.excluded.last_active}
        )
        try:
            with self._tx() as s:
                s.execute(upsert)
                s.add(
                    ExchangeRow(
                        request_id=ex.request_id,
                        session_id=ex.session_id,
                        created_at=ex.created_at,
                        question=ex.question,
                        answer=ex.answer,
                        answered_by=ex.answered_by,
                        handoff=ex.handoff,
                        citations=ex.citations,
                        channel=ex.channel,
                        confidence=ex.confidence,
                        department=ex.department,
                        hits=ex.hits,
                        meta=ex.meta,
                    )
                )
        except ConflictError:
            raise ConflictError(f"exchange {ex.request_id!r} is already stored") from None

    def exchanges(self, session_id: str, limit: int | None = None) -> list[Exchange] | None:
        query = (
            select(ExchangeRow, FeedbackRow)
            .outerjoin(FeedbackRow, FeedbackRow.request_id == ExchangeRow.request_id)
            .where(ExchangeRow.session_id == session_id)
            .order_by(ExchangeRow.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self._tx() as s:
            rows = s.execute(query).all()
        if not rows:
            return None
        return [to_exchange(ex, fb) for ex, fb in reversed(rows)]

    def get(self, request_id: str) -> Exchange | None:
        """One exchange by its request id (with its feedback), or None."""
        query = (
            select(ExchangeRow, FeedbackRow)
            .outerjoin(FeedbackRow, FeedbackRow.request_id == ExchangeRow.request_id)
            .where(ExchangeRow.request_id == request_id)
        )
        with self._tx() as s:
            row = s.execute(query).first()
        return None if row is None else to_exchange(row[0], row[1])

    def delete(self, session_id: str) -> bool:
        n = self._delete_sessions(select(SessionRow.session_id).where(SessionRow.session_id == session_id))
        if not n:  # exchanges without a session row (appended before create) still go
            n = self._delete_sessions(
                select(ExchangeRow.session_id).where(ExchangeRow.session_id == session_id)
            )
        if n and self.engine.dialect.name == "sqlite":
            # Copy the WAL back into the main file and truncate it, so the deleted text is not left
            # behind in the log either (secure_delete zeroed it in the pages).
            # The raw driver connection runs in autocommit (engine.py), outside any transaction.
            raw = self.engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        return n > 0

    def add_feedback(self, request_id: str, rating: str, comment: str = "") -> bool:
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        values = {"rating": rating, "comment": mask_pii(comment), "created_at": time.time()}
        upsert = insert_for(self.engine, FeedbackRow).values(request_id=request_id, **values)
        upsert = upsert.on_conflict_do_update(index_elements=[FeedbackRow.request_id], set_=values)
        with self._tx() as s:
            if s.scalar(select(ExchangeRow.id).where(ExchangeRow.request_id == request_id)) is None:
                return False
            s.execute(upsert)
        return True

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()


def to_exchange(row: ExchangeRow, fb: FeedbackRow | None) -> Exchange:
    feedback = None
    if fb is not None:
        feedback = {"rating": fb.rating, "comment": fb.comment, "created_at": fb.created_at}
    return Exchange(
        request_id=row.request_id,
        session_id=row.session_id,
        question=row.question,
        answer=row.answer,
        answered_by=row.answered_by,
        handoff=row.handoff,
        citations=list(row.citations or []),
        created_at=row.created_at,
        feedback=feedback,
        channel=row.channel,
        confidence=row.confidence,
        department=row.department,
        hits=list(row.hits or []),
        meta=dict(row.meta or {}),
    )
