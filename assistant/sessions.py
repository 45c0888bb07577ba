"""Conversation and feedback storage: the ``SessionStore`` seam, a registry, SQLite (default) and memory backends.

Every stored text passes through ``mask_pii`` first, so 身份证号/手机号/银行卡号 never reach disk. The
SQLite store keeps one file in WAL mode with ``synchronous=NORMAL`` (a commit is a WAL append, no
fsync) and ``secure_delete`` on, so deleting a session overwrites its rows instead of leaving them in
free pages. One connection is shared behind a lock: writes are serialised by SQLite anyway and this
avoids a connection per request or per thread.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .config import APISettings
from .errors import ConfigError, ConflictError, StorageError
from .safety import mask_pii
from .types import Turn

RATINGS = ("up", "down")
PURGE_EVERY_S = 60.0  # how often creating a session also deletes expired ones


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

    def create(self, session_id: str, owner: str) -> None:
        """Start an empty session owned by ``owner`` (and forget sessions idle past the expiry)."""

    def owner(self, session_id: str) -> str | None:
        """Who owns the session; None when it is unknown or has expired."""

    def session_of(self, request_id: str) -> str | None:
        """The session an exchange belongs to; None for an unknown exchange id."""

    def append(self, exchange: Exchange) -> None:
        """Add one exchange to its session (created, owner "", if new); ``ConflictError`` if its id exists."""

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
        cited = tuple(str(c.get("doc_id", "")) for c in ex.citations if c.get("doc_id"))
        turns.append(Turn("assistant", ex.answer, cited))
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
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_active REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_idle ON sessions(last_active);
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT PRIMARY KEY REFERENCES exchanges(request_id) ON DELETE CASCADE,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
"""


class SQLiteSessionStore:
    """Sessions in one SQLite file (WAL, survives restarts, safe to share between threads and workers)."""

    def __init__(self, path: str | Path, idle_seconds: float = 0.0) -> None:
        self.path = Path(path)
        self.idle_seconds = idle_seconds
        self._purged_at = 0.0
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

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection, locked, inside one transaction; SQLite failures become ``StorageError``."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"already stored: {exc}") from None
            except sqlite3.Error as exc:
                raise StorageError(f"session storage failed: {exc}") from None

    def _cutoff(self) -> float:
        return time.time() - self.idle_seconds if self.idle_seconds > 0 else 0.0

    def create(self, session_id: str, owner: str) -> None:
        now = time.time()
        with self._writing() as conn:
            conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (session_id, owner, now, now))
        if self.idle_seconds > 0 and now - self._purged_at > PURGE_EVERY_S:
            self._purged_at = now
            self.purge_expired()

    def purge_expired(self) -> int:
        """Delete sessions idle past ``idle_seconds`` with their exchanges and feedback; how many went."""
        cutoff = self._cutoff()
        if not cutoff:
            return 0
        old = "SELECT session_id FROM sessions WHERE last_active < ?"
        with self._writing() as conn:
            conn.execute(
                f"DELETE FROM feedback WHERE request_id IN (SELECT request_id FROM exchanges WHERE session_id IN ({old}))",
                (cutoff,),
            )
            conn.execute(f"DELETE FROM exchanges WHERE session_id IN ({old})", (cutoff,))
            n = conn.execute("DELETE FROM sessions WHERE last_active < ?", (cutoff,)).rowcount
        return int(n)

    def owner(self, session_id: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT owner FROM sessions WHERE session_id = ? AND last_active >= ?",
                (session_id, self._cutoff()),
            ).fetchone()
        return None if row is None else str(row[0])

    def session_of(self, request_id: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT session_id FROM exchanges WHERE request_id = ?", (request_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def append(self, exchange: Exchange) -> None:
        ex = masked(exchange)
        cites = json.dumps(ex.citations, ensure_ascii=False)
        with self._writing() as conn:
            conn.execute(
                "INSERT INTO sessions VALUES (?, '', ?, ?)"
                " ON CONFLICT(session_id) DO UPDATE SET last_active = excluded.last_active",
                (ex.session_id, ex.created_at, ex.created_at),
            )
            conn.execute(
                "INSERT INTO exchanges VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        with self._writing() as conn:
            conn.execute(
                "DELETE FROM feedback WHERE request_id IN (SELECT request_id FROM exchanges WHERE session_id = ?)",
                (session_id,),
            )
            n = conn.execute("DELETE FROM exchanges WHERE session_id = ?", (session_id,)).rowcount
            n += conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,)).rowcount
        if n:
            # Copy the WAL back into the main file and truncate it, so the deleted text is not
            # left behind in the log either (secure_delete zeroed it in the pages).
            with self._lock:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n > 0

    def add_feedback(self, request_id: str, rating: str, comment: str = "") -> bool:
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        with self._writing() as conn:
            exists = conn.execute("SELECT 1 FROM exchanges WHERE request_id = ?", (request_id,)).fetchone()
            if not exists:
                return False
            conn.execute(
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

    def __init__(self, idle_seconds: float = 0.0) -> None:
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._sessions: dict[str, list[Exchange]] = {}
        self._by_request: dict[str, Exchange] = {}
        self._owners: dict[str, tuple[str, float]] = {}  # session id -> (owner, last active)

    def create(self, session_id: str, owner: str) -> None:
        with self._lock:
            if session_id in self._owners:
                raise ConflictError(f"session {session_id!r} exists")
            self._owners[session_id] = (owner, time.time())
            if self.idle_seconds > 0:
                cutoff = time.time() - self.idle_seconds
                for sid in [k for k, (_, t) in self._owners.items() if t < cutoff]:
                    self._drop(sid)

    def owner(self, session_id: str) -> str | None:
        with self._lock:
            found = self._owners.get(session_id)
        if found is None or (self.idle_seconds > 0 and found[1] < time.time() - self.idle_seconds):
            return None
        return found[0]

    def session_of(self, request_id: str) -> str | None:
        with self._lock:
            ex = self._by_request.get(request_id)
        return None if ex is None else ex.session_id

    def append(self, exchange: Exchange) -> None:
        ex = masked(exchange)
        with self._lock:
            if ex.request_id in self._by_request:
                raise ConflictError(f"exchange {ex.request_id!r} is already stored")
            self._sessions.setdefault(ex.session_id, []).append(ex)
            self._by_request[ex.request_id] = ex
            owner = self._owners.get(ex.session_id, ("", 0.0))[0]
            self._owners[ex.session_id] = (owner, ex.created_at)

    def _drop(self, session_id: str) -> bool:
        """Forget a session (caller holds the lock); True if it existed."""
        found = self._sessions.pop(session_id, None)
        known = self._owners.pop(session_id, None) is not None
        for ex in found or []:
            self._by_request.pop(ex.request_id, None)
        return bool(found) or known

    def exchanges(self, session_id: str, limit: int | None = None) -> list[Exchange] | None:
        with self._lock:
            found = self._sessions.get(session_id)
            if not found:
                return None
            items = found[-limit:] if limit else list(found)
            return [Exchange(**{**asdict(e)}) for e in items]

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._drop(session_id)

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
    "sqlite": lambda api: SQLiteSessionStore(api.session_db, api.session_idle_minutes * 60.0),
    "memory": lambda api: MemorySessionStore(api.session_idle_minutes * 60.0),
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
