"""Small shared key/value state with a version per key: the current index generation, change
counters, and leases that let one replica out of many run a periodic job.

``set(..., expected_version=n)`` is compare-and-set: it fails with ``ConflictError`` when another
process wrote the key since version ``n`` was read, so concurrent writers cannot lose updates.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, update

from ..errors import ConflictError
from .base import Transactions, rowcount
from .models import StateRow


@dataclass(frozen=True)
class StateEntry:
    key: str
    value: Any
    version: int
    updated_at: float


def _entry(r: StateRow) -> StateEntry:
    return StateEntry(r.key, r.value, r.version, r.updated_at)


class State:
    def __init__(self, engine: Engine) -> None:
        self._tx = Transactions(engine)

    def get(self, key: str) -> StateEntry | None:
        with self._tx() as s:
            row = s.get(StateRow, key)
            return None if row is None else _entry(row)

    def value(self, key: str, default: Any = None) -> Any:
        found = self.get(key)
        return default if found is None else found.value

    def set(self, key: str, value: Any, *, expected_version: int | None = None) -> StateEntry:
        """Write ``value`` (version + 1). With ``expected_version`` (0: the key must not exist yet),
        ``ConflictError`` unless the stored version is exactly that."""
        now = time.time()
        with self._tx() as s:
            if expected_version == 0:
                row = StateRow(key=key, value=value, version=1, updated_at=now)
                s.add(row)  # a concurrent creator makes this an IntegrityError → ConflictError
                s.flush()
                return _entry(row)
            query = update(StateRow).where(StateRow.key == key)
            if expected_version is not None:
                query = query.where(StateRow.version == expected_version)
            query = query.values(value=value, version=StateRow.version + 1, updated_at=now)
            if rowcount(s.execute(query)) == 0:
                if expected_version is not None:
                    raise ConflictError(f"state {key!r} changed since version {expected_version}")
                row = StateRow(key=key, value=value, version=1, updated_at=now)
                s.add(row)
                s.flush()
                return _entry(row)
            fresh = s.get(StateRow, key, populate_existing=True)
            assert fresh is not None
            return _entry(fresh)

    def bump(self, key: str) -> int:
        """Atomically add 1 to an integer counter (created at 0) and return the new value."""
        for _ in range(20):
            found = self.get(key)
            current = int(found.value or 0) if found else 0
            try:
                self.set(key, current + 1, expected_version=found.version if found else 0)
                return current + 1
            except ConflictError:
                continue
        raise ConflictError(f"counter {key!r} is too contended")

    def acquire_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        """Take the lease ``name`` for ``ttl_s`` seconds unless another holder has an unexpired one."""
        key = f"lease:{name}"
        now = time.time()
        found = self.get(key)
        if found is not None:
            lease = found.value or {}
            if lease.get("holder") != holder and float(lease.get("until", 0)) > now:
                return False
        try:
            self.set(
                key,
                {"holder": holder, "until": now + ttl_s},
                expected_version=found.version if found else 0,
            )
        except ConflictError:
            return False
        return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up early (only its holder can)."""
        found = self.get(f"lease:{name}")
        if found is not None and (found.value or {}).get("holder") == holder:
            with contextlib.suppress(ConflictError):
                self.set(f"lease:{name}", {"holder": "", "until": 0}, expected_version=found.version)
