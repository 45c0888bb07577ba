"""``SQLSessionStore``: the ``SessionStore`` protocol on the state database (SQLite or PostgreSQL).

Texts are masked with ``mask_pii`` before they are written (``assistant.sessions.masked``). Deleting
a session removes its rows for good; on SQLite ``secure_delete`` overwrites them in the file and a
WAL checkpoint copies that into the main file, so the text is not left in the log either.
"""

from __future__ import annotations

import time
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, delete, insert, select

from ..errors import ConflictError
from ..safety import mask_pii
from ..sessions import RATINGS, Exchange, masked
from .base import Transactions, insert_for, rowcount
from .models import ExchangeRow, FeedbackRow, SessionRow

PURGE_EVERY_S = 60.0  # how often creating a session also deletes expired ones


EXCHANGES = cast(Table, ExchangeRow.__table__)
FEEDBACK = cast(Table, FeedbackRow.__table__)
SESSIONS = cast(Table, SessionRow.__table__)
# exchange columns, then the feedback's (None without feedback): one row per exchange
_EXCHANGE_QUERY = select(
    *EXCHANGES.c, FEEDBACK.c.rating, FEEDBACK.c.comment, FEEDBACK.c.created_at.label("fb_at")
).select_from(EXCHANGES.outerjoin(FEEDBACK, FEEDBACK.c.request_id == EXCHANGES.c.request_id))


_INSERT_EXCHANGE = insert(EXCHANGES)
_INSERT_SESSION = insert(SESSIONS)
_OWNER = select(SESSIONS.c.owner).where(
    SESSIONS.c.session_id == bindparam("sid"), SESSIONS.c.last_active >= bindparam("cutoff")
)
_SESSION_OF = select(EXCHANGES.c.session_id).where(EXCHANGES.c.request_id == bindparam("rid"))
_LATEST = _EXCHANGE_QUERY.where(EXCHANGES.c.session_id == bindparam("sid")).order_by(EXCHANGES.c.id.desc())
_LATEST_N = _LATEST.limit(bindparam("n"))


class SQLSessionStore:
    """Sessions, exchanges and feedback in SQL tables; shared by every replica that uses the same URL.

    Written with SQLAlchemy Core rather than the ORM: these calls run on every chat turn, and Core
    costs about a third of the ORM's time per call (benchmarks/storage_ops.py).
    """

    def __init__(self, engine: Engine, idle_seconds: float = 0.0, *, owns_engine: bool = False) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self._tx = Transactions(engine)
        self._owns_engine = owns_engine
        self._purged_at = 0.0
        # statements built once with bind parameters: building them per call (values as literals)
        # costs more than executing them
        touch = insert_for(engine, SESSIONS).values(
            session_id=bindparam("session_id"),
            owner="",
            created_at=bindparam("created_at"),
            last_active=bindparam("created_at"),
        )
        self._touch_session = touch.on_conflict_do_update(
            index_elements=[SESSIONS.c.session_id], set_={"last_active": touch.excluded.last_active}
        )
        rate = insert_for(engine, FEEDBACK)
        self._rate = rate.on_conflict_do_update(
            index_elements=[FEEDBACK.c.request_id],
            set_={
                "rating": rate.excluded.rating,
                "comment": rate.excluded.comment,
                "created_at": rate.excluded.created_at,
            },
        )

    def _cutoff(self) -> float:
        return time.time() - self.idle_seconds if self.idle_seconds > 0 else 0.0

    def create(self, session_id: str, owner: str) -> None:
        now = time.time()
        with self._tx.core() as conn:
            conn.execute(
                _INSERT_SESSION,
                {"session_id": session_id, "owner": owner, "created_at": now, "last_active": now},
            )
        if self.idle_seconds > 0 and now - self._purged_at > PURGE_EVERY_S:
            self._purged_at = now
            self.purge_expired()

    def purge_expired(self) -> int:
        """Delete sessions idle past ``idle_seconds`` with their exchanges and feedback; how many went."""
        cutoff = self._cutoff()
        if not cutoff:
            return 0
        return self._delete_sessions(select(SESSIONS.c.session_id).where(SESSIONS.c.last_active < cutoff))

    def _delete_sessions(self, which: Any) -> int:
        with self._tx.core() as conn:
            rids = select(EXCHANGES.c.request_id).where(EXCHANGES.c.session_id.in_(which))
            conn.execute(delete(FEEDBACK).where(FEEDBACK.c.request_id.in_(rids)))
            n = rowcount(conn.execute(delete(EXCHANGES).where(EXCHANGES.c.session_id.in_(which))))
            n += rowcount(conn.execute(delete(SESSIONS).where(SESSIONS.c.session_id.in_(which))))
        return n

    def owner(self, session_id: str) -> str | None:
        with self._tx.core() as conn:
            return conn.execute(_OWNER, {"sid": session_id, "cutoff": self._cutoff()}).scalar()

    def session_of(self, request_id: str) -> str | None:
        with self._tx.core() as conn:
            return conn.execute(_SESSION_OF, {"rid": request_id}).scalar()

    def append(self, exchange: Exchange) -> None:
        ex = masked(exchange)
        row = {
            "request_id": ex.request_id,
            "session_id": ex.session_id,
            "created_at": ex.created_at,
            "question": ex.question,
            "answer": ex.answer,
            "answered_by": ex.answered_by,
            "handoff": ex.handoff,
            "citations": ex.citations,
            "channel": ex.channel,
            "confidence": ex.confidence,
            "department": ex.department,
            "hits": ex.hits,
            "meta": ex.meta,
        }
        try:
            with self._tx.core() as conn:
                conn.execute(self._touch_session, {"session_id": ex.session_id, "created_at": ex.created_at})
                conn.execute(_INSERT_EXCHANGE, row)
        except ConflictError:
            raise ConflictError(f"exchange {ex.request_id!r} is already stored") from None

    def exchanges(self, session_id: str, limit: int | None = None) -> list[Exchange] | None:
        with self._tx.core() as conn:
            if limit is None:
                rows = conn.execute(_LATEST, {"sid": session_id}).all()
            else:
                rows = conn.execute(_LATEST_N, {"sid": session_id, "n": limit}).all()
        if not rows:
            return None
        return [to_exchange(r) for r in reversed(rows)]

    def get(self, request_id: str) -> Exchange | None:
        """One exchange by its request id (with its feedback), or None."""
        with self._tx.core() as conn:
            row = conn.execute(_EXCHANGE_QUERY.where(EXCHANGES.c.request_id == request_id)).first()
        return None if row is None else to_exchange(row)

    def delete(self, session_id: str) -> bool:
        n = self._delete_sessions(select(SESSIONS.c.session_id).where(SESSIONS.c.session_id == session_id))
        if not n:  # exchanges without a session row still go
            n = self._delete_sessions(
                select(EXCHANGES.c.session_id).where(EXCHANGES.c.session_id == session_id)
            )
        if n and self.engine.dialect.name == "sqlite":
            # Copy the WAL back into the main file and truncate it, so the deleted text is not left
            # behind in the log either (secure_delete zeroed it in the pages). The raw driver
            # connection runs in autocommit (engine.py), outside any transaction.
            raw = self.engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        return n > 0

    def add_feedback(self, request_id: str, rating: str, comment: str = "") -> bool:
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        values = {
            "request_id": request_id,
            "rating": rating,
            "comment": mask_pii(comment),
            "created_at": time.time(),
        }
        with self._tx.core() as conn:
            if (
                conn.execute(select(EXCHANGES.c.id).where(EXCHANGES.c.request_id == request_id)).first()
                is None
            ):
                return False
            conn.execute(self._rate, values)
        return True

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()


def to_exchange(row: Any, fb: Any = None) -> Exchange:
    """An ``Exchange`` from a row of ``_EXCHANGE_QUERY`` (feedback columns on the row), or from an
    ``ExchangeRow`` with its ``FeedbackRow`` (or None) as the console's ORM queries select them."""
    feedback = None
    if fb is not None:
        feedback = {"rating": fb.rating, "comment": fb.comment, "created_at": fb.created_at}
    elif getattr(row, "rating", None) is not None:
        feedback = {"rating": row.rating, "comment": row.comment, "created_at": row.fb_at}
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
