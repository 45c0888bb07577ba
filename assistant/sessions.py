"""Conversation and feedback storage: the ``SessionStore`` seam, a registry, SQLite (default) and memory backends.

Every stored text passes through ``mask_pii`` first, so 身份证号/手机号/银行卡号 never reach disk. The
SQLite store keeps one file in WAL mode with ``synchronous=NORMAL`` (a commit is a WAL append, no
fsync) and ``secure_delete`` on, so deleting a session overwrites its rows instead of leaving them in
free pages. One connection is shared behind a lock: writes are serialised by SQLite anyway and this
avoids a connection per request or per thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .config import APISettings
from .errors import ConfigError
from .safety import mask_pii
from .types import Turn

RATINGS = ("up", "down")


@dataclass
class Exchange:
    """One question and the assistant's reply within a session (texts already masked)."""

    request_id: str
    session_id: str
    question: str
    answer: str
    answered_by: str = ""
    handoff: str = ""  # hand-off reason, "" when none
    citations: list[dict[str, Any]] = field(default_factory=list)  # [{n, doc_id, title, url}]
    created_at: float = 0.0
    feedback: dict[str, Any] | None = None  # {rating, comment, created_at}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class SessionStore(Protocol):
    """Stores exchanges per session and feedback per exchange; texts are masked on the way in."""

    def append(self, exchange: Exchange) -> None:
        """Add one exchange (its ``request_id`` is unique) to its session, creating the session if new."""

    def exchanges(self, session_id: str, limit: int | None = None) -> list[Exchange] | None:
        """The session's exchanges, oldest first (the last ``limit`` only); None for an unknown session."""

    def delete(self, session_id: str) -> bool:
        """Remove the session, its exchanges and their feedback for good; False if it did not exist."""

    def add_feedback(self, request_id: str, rating: str, comment: str = "") -> bool:
        """Attach feedback to an exchange (replacing earlier feedback); False for an unknown request id."""

    def close(self) -> None:
        """Release connections."""


def history(store: SessionStore, session_id: str, max_exchanges: int = 5) -> list[Turn]:
    """The last ``max_exchanges`` exchanges of a session as alternating user/assistant turns."""
    turns: list[Turn] = []
    for ex in store.exchanges(session_id, limit=max_exchanges) or []:
        turns.append(Turn("user", ex.question))
        turns.append(Turn("assistant", ex.answer))
    return turns


def masked(exchange: Exchange) -> Exchange:
    """A copy of ``exchange`` with personal data masked in every free-text field."""
    return Exchange(
        request_id=exchange.request_id,
        session_id=exchange.session_id,
        question=mask_pii(exchange.question),
        answer=mask_pii(exchange.answer),
        answered_by=exchange.answered_by,
        handoff=exchange.handoff,
        citations=exchange.citations,
        created_at=exchange.created_at or time.time(),
    )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS exchanges (
    request_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answered_by TEXT NOT NULL DEFAULT '',
    handoff TEXT NOT NULL DEFAULT '',
    citations TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS exchanges_session ON exchanges(session_id, created_at);
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT PRIMARY KEY REFERENCES exchanges(request_id) ON DELETE CASCADE,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
"""


class SQLiteSessionStore:
    """Sessions in one SQLite file (WAL, survives restarts, safe to share between threads and workers)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10.0)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)

    def append(self, exchange: Exchange) -> None:
        ex = masked(exchange)
        cites = json.dumps(ex.citations, ensure_ascii=False)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO exchanges VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ex.request_id,
                    ex.session_id,
                    ex.created_at,
                    ex.question,
                    ex.answer,
                    ex.answered_by,
                    ex.handoff,
                    cites,
                ),
            )

    def exchanges(self, session_id: str, limit: int | None = None) -> list[Exchange] | None:
        sql = (
            "SELECT e.request_id, e.session_id, e.question, e.answer, e.answered_by, e.handoff, e.citations,"
            " e.created_at, f.rating, f.comment, f.created_at FROM exchanges e"
            " LEFT JOIN feedback f ON f.request_id = e.request_id WHERE e.session_id = ?"
            " ORDER BY e.created_at DESC, e.rowid DESC"
        )
        params: tuple[Any, ...] = (session_id,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        if not rows:
            return None
        return [_row_to_exchange(r) for r in reversed(rows)]

    def delete(self, session_id: str) -> bool:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "DELETE FROM feedback WHERE request_id IN (SELECT request_id FROM exchanges WHERE session_id = ?)",
                    (session_id,),
                )
                n = self._conn.execute("DELETE FROM exchanges WHERE session_id = ?", (session_id,)).rowcount
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            if n:
                # Copy the WAL back into the main file and truncate it, so the deleted text is not
                # left behind in the log either (secure_delete zeroed it in the pages).
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n > 0

    def add_feedback(self, request_id: str, rating: str, comment: str = "") -> bool:
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        with self._lock:
            exists = self._conn.execute(
                "SELECT 1 FROM exchanges WHERE request_id = ?", (request_id,)
            ).fetchone()
            if not exists:
                return False
            self._conn.execute(
                "INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?)",
                (request_id, rating, mask_pii(comment), time.time()),
            )
        return True

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _row_to_exchange(row: Sequence[Any]) -> Exchange:
    rid, sid, question, answer, answered_by, handoff, cites, created, rating, comment, fb_at = row
    feedback = {"rating": rating, "comment": comment, "created_at": fb_at} if rating else None
    return Exchange(rid, sid, question, answer, answered_by, handoff, json.loads(cites), created, feedback)


class MemorySessionStore:
    """Sessions in a dict (lost on restart): for tests and throwaway demos."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, list[Exchange]] = {}
        self._by_request: dict[str, Exchange] = {}

    def append(self, exchange: Exchange) -> None:
        ex = masked(exchange)
        with self._lock:
            self._sessions.setdefault(ex.session_id, []).append(ex)
            self._by_request[ex.request_id] = ex

    def exchanges(self, session_id: str, limit: int | None = None) -> list[Exchange] | None:
        with self._lock:
            found = self._sessions.get(session_id)
            if not found:
                return None
            items = found[-limit:] if limit else list(found)
            return [Exchange(**{**asdict(e)}) for e in items]

    def delete(self, session_id: str) -> bool:
        with self._lock:
            found = self._sessions.pop(session_id, None)
            for ex in found or []:
                self._by_request.pop(ex.request_id, None)
        return bool(found)

    def add_feedback(self, request_id: str, rating: str, comment: str = "") -> bool:
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        with self._lock:
            ex = self._by_request.get(request_id)
            if ex is None:
                return False
            ex.feedback = {"rating": rating, "comment": mask_pii(comment), "created_at": time.time()}
        return True

    def close(self) -> None:
        return None


SESSION_STORES: dict[str, Callable[[APISettings], SessionStore]] = {
    "sqlite": lambda api: SQLiteSessionStore(api.session_db),
    "memory": lambda api: MemorySessionStore(),
}


def make_session_store(api: APISettings) -> SessionStore:
    """Build the store named by ``api.session_store``."""
    try:
        factory = SESSION_STORES[api.session_store]
    except KeyError:
        raise ConfigError(
            f"unknown session store {api.session_store!r}; choose one of {sorted(SESSION_STORES)}"
        ) from None
    return factory(api)
