"""Curated entries from the state database (``db.curated``), versioned by a counter in ``db.state``.

Every write through the console bumps ``curated_version`` (``changed``); each worker and replica reads
that counter at most once per ``check_s`` seconds (0: every question) and re-reads the entries only
when it moved — so an edit reaches every worker within ``check_s`` without a restart.
"""

from __future__ import annotations

import logging
import threading
import time

from ..errors import StorageError
from ..storage import Database
from ..storage.curated import CuratedAnswer
from .entries import CuratedEntry

log = logging.getLogger(__name__)
VERSION_KEY = "curated_version"
PUBLISHED = "published"  # the status of an entry citizens get; "draft" and "retired" are kept but unused
STATUSES = ("draft", PUBLISHED, "retired")


def to_entry(a: CuratedAnswer) -> CuratedEntry:
    return CuratedEntry(
        id=str(a.id),
        questions=list(a.questions),
        answer=a.answer,
        sources=list(a.sources),
        department=a.department,
        valid_from=a.valid_from,
        valid_to=a.valid_to,
        enabled=a.status == PUBLISHED,
        created_by=a.created_by,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


class DatabaseCuratedSource:
    """``CuratedSource`` over ``db.curated``; ``changed()`` after every write."""

    def __init__(self, db: Database, check_s: float = 1.0) -> None:
        self.db = db
        self.check_s = check_s
        self._lock = threading.Lock()
        self._version = 0
        self._checked_at = 0.0

    def curated_version(self) -> int:
        """The stored counter; while the database cannot be read, the last one seen (chat goes on)."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_s:
            with self._lock:
                self._checked_at = now
                try:
                    self._version = int(self.db.state.value(VERSION_KEY, 0) or 0)
                except StorageError as exc:
                    log.warning("curated answers: version not read, keeping v%s: %s", self._version, exc)
        return self._version

    def curated_entries(self) -> list[CuratedEntry]:
        return [to_entry(a) for a in self.db.curated.list()]

    def changed(self) -> None:
        """Record that entries changed: every reader sees a new version (this process at once)."""
        version = self.db.state.bump(VERSION_KEY)
        with self._lock:
            self._version, self._checked_at = version, time.monotonic()
