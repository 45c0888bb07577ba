"""The audit log: append-only records of who changed what (``record`` and ``list``, nothing else).

No method here updates or deletes a row; the only deletion is the retention purge
(``retention.py``), and the database itself refuses ``UPDATE`` on ``audit_log`` (a trigger created by
the first migration), so a bug elsewhere cannot rewrite history either.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from .base import Transactions
from .models import AuditRow


@dataclass(frozen=True)
class AuditEntry:
    id: int
    actor: str
    role: str
    action: str
    target: str
    at: float
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(row.id, row.actor, row.role, row.action, row.target, row.at, row.before, row.after)


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self._tx = Transactions(engine)

    def record(
        self, actor: str, role: str, action: str, target: str = "", before: Any = None, after: Any = None
    ) -> AuditEntry:
        """Append one entry (``before``/``after``: JSON-serialisable snapshots, None when not applicable)."""
        row = AuditRow(
            actor=actor, role=role, action=action, target=target, at=time.time(), before=before, after=after
        )
        with self._tx() as s:
            s.add(row)
            s.flush()
            return _entry(row)

    def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Entries matching every given filter, newest first (``since`` inclusive, ``until`` exclusive)."""
        query = select(AuditRow)
        if actor is not None:
            query = query.where(AuditRow.actor == actor)
        if action is not None:
            query = query.where(AuditRow.action == action)
        if target is not None:
            query = query.where(AuditRow.target == target)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        if until is not None:
            query = query.where(AuditRow.at < until)
        query = query.order_by(AuditRow.id.desc()).limit(limit).offset(offset)
        with self._tx() as s:
            return [_entry(r) for r in s.scalars(query)]

    def count(self) -> int:
        with self._tx() as s:
            return int(s.scalar(select(func.count()).select_from(AuditRow)) or 0)
