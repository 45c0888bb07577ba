"""Conversation and feedback storage: the ``SessionStore`` seam, the ``Exchange`` record and the memory store.

Every stored text passes through ``mask_pii`` first, so 身份证号/手机号/银行卡号 never reach disk. The
real store is ``assistant.storage.SQLSessionStore`` (SQLite or PostgreSQL through SQLAlchemy, built
by ``assistant.storage.Database``); ``MemorySessionStore`` is its deterministic fake for tests and
throwaway demos.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from .errors import ConflictError
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
    channel: str = ""  # widget | kiosk | api (by the kind of key), "" when unknown
    confidence: float | None = None
    department: str = ""  # the department of the [1] citation
    hits: list[dict[str, Any]] = field(default_factory=list)  # [{doc_id, title, score}]
    meta: dict[str, Any] = field(default_factory=dict)  # further per-answer fields: intent, moderation, label

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

    def get(self, request_id: str) -> Exchange | None:
        """One exchange (with its feedback) by its request id; None when unknown or deleted."""

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
        channel=exchange.channel,
        confidence=exchange.confidence,
        department=exchange.department,
        hits=exchange.hits,
        meta=exchange.meta,
    )


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

    def get(self, request_id: str) -> Exchange | None:
        with self._lock:
            ex = self._by_request.get(request_id)
            return None if ex is None else Exchange(**asdict(ex))

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
