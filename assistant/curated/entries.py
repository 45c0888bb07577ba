"""The curated entry, its validity rule, and the ``CuratedSource`` seam the matcher loads entries from.

A source says which entries exist and a ``version`` that changes whenever any of them changes; the
matcher re-reads the entries only when the version moved. With the database store the version is a
counter in ``db.state``, so an edit made through one worker (or replica) reaches every other one on
its next question.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class CuratedEntry:
    """One curated answer: the question variants it answers, the text, the documents it rests on."""

    id: str
    questions: list[str]
    answer: str
    sources: list[str] = field(default_factory=list)  # document ids in the index
    department: str = ""
    valid_from: str = ""  # ISO date; "" = no start
    valid_to: str = ""  # ISO date, inclusive; "" = no end
    enabled: bool = True
    created_by: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    from_exchange: str = ""  # request id of the reviewed exchange it was made from, if any

    def in_force(self, today: str) -> bool:
        """Enabled, and ``today`` (ISO date) within ``valid_from``..``valid_to`` (both inclusive)."""
        if not self.enabled:
            return False
        if self.valid_from and today < self.valid_from:
            return False
        return not (self.valid_to and today > self.valid_to)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CuratedEntry:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@runtime_checkable
class CuratedSource(Protocol):
    """Where the matcher reads curated entries from (the database in production, memory in tests)."""

    def curated_version(self) -> int:
        """A number that changes whenever an entry is added, edited or deleted (cheap to read)."""

    def curated_entries(self) -> Sequence[CuratedEntry]:
        """Every stored entry, enabled or not (the matcher applies validity itself)."""


class MemoryCuratedSource:
    """Entries in a dict: tests, and a server started without a database."""

    def __init__(self, entries: Sequence[CuratedEntry] = ()) -> None:
        self._lock = threading.Lock()
        self._entries = {e.id: e for e in entries}
        self._version = 1

    def curated_version(self) -> int:
        return self._version

    def curated_entries(self) -> list[CuratedEntry]:
        with self._lock:
            return list(self._entries.values())

    def put(self, entry: CuratedEntry) -> None:
        with self._lock:
            self._entries[entry.id] = entry
            self._version += 1

    def remove(self, entry_id: str) -> bool:
        with self._lock:
            found = self._entries.pop(entry_id, None) is not None
            self._version += 1
        return found
