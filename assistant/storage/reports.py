"""Citizens' complaints and reports about an answer (投诉/举报), with a tracking number and a workflow.

The workflow is 待处理 → 处理中 → 已办结, one step at a time; anything else is a ``ConflictError``
(409). Every status change is written to the audit log in the same transaction as the change. A
report is overdue when it is not 已办结 by its deadline (``reports.deadline_days`` after filing).
Tracking numbers are the filing date plus 50 random bits, so they cannot be guessed or enumerated.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from ..errors import ConflictError, InvalidInputError, NotFoundError
from ..safety import mask_pii
from .base import Transactions
from .models import AuditRow, ReportRow

REASONS = ("错误", "过时", "不当内容", "其他")
STATUSES = ("待处理", "处理中", "已办结")
NEXT_STATUS = {"待处理": "处理中", "处理中": "已办结"}  # the only allowed transitions
DONE = "已办结"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
TRACKING_PATTERN = r"^\d{8}-[0-9A-HJKMNP-TV-Z]{10}$"


def new_tracking_number(now: float | None = None) -> str:
    day = datetime.fromtimestamp(now if now is not None else time.time(), UTC).strftime("%Y%m%d")
    return f"{day}-{''.join(secrets.choice(_ALPHABET) for _ in range(10))}"


@dataclass
class Report:
    tracking_number: str
    request_id: str
    reason: str
    note: str
    status: str
    created_at: float
    deadline: float
    updated_at: float
    handler_note: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)  # [{status, at, actor, note}]

    def overdue(self, now: float | None = None) -> bool:
        return self.status != DONE and (now if now is not None else time.time()) > self.deadline

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        return asdict(self) | {"overdue": self.overdue(now)}


def _report(r: ReportRow) -> Report:
    return Report(
        r.tracking_number,
        r.request_id,
        r.reason,
        r.note,
        r.status,
        r.created_at,
        r.deadline,
        r.updated_at,
        r.handler_note,
        list(r.history or []),
    )


class Reports:
    def __init__(self, engine: Engine) -> None:
        self._tx = Transactions(engine)

    def create(self, request_id: str, reason: str, note: str = "", *, deadline_days: float = 15) -> Report:
        """File a report (note masked); the caller checks that ``request_id`` is a stored exchange."""
        if reason not in REASONS:
            raise InvalidInputError(f"reason must be one of {REASONS}")
        now = time.time()
        row = ReportRow(
            tracking_number=new_tracking_number(now),
            request_id=request_id,
            reason=reason,
            note=mask_pii(note),
            status=STATUSES[0],
            created_at=now,
            deadline=now + deadline_days * 86400.0,
            updated_at=now,
            handler_note="",
            history=[{"status": STATUSES[0], "at": now, "actor": "citizen", "note": ""}],
        )
        with self._tx() as s:
            s.add(row)
            s.flush()
            return _report(row)

    def get(self, tracking_number: str) -> Report | None:
        with self._tx() as s:
            row = s.get(ReportRow, tracking_number)
            return None if row is None else _report(row)

    def list(
        self,
        *,
        status: str | None = None,
        overdue: bool | None = None,
        request_id: str | None = None,
        now: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Report]:
        """Reports matching the filters, oldest deadline first."""
        now = time.time() if now is None else now
        query = select(ReportRow)
        if status is not None:
            query = query.where(ReportRow.status == status)
        if request_id is not None:
            query = query.where(ReportRow.request_id == request_id)
        if overdue is True:
            query = query.where(ReportRow.status != DONE, ReportRow.deadline < now)
        elif overdue is False:
            query = query.where((ReportRow.status == DONE) | (ReportRow.deadline >= now))
        query = query.order_by(ReportRow.deadline, ReportRow.tracking_number).limit(limit).offset(offset)
        with self._tx() as s:
            return [_report(r) for r in s.scalars(query)]

    def update(
        self,
        tracking_number: str,
        *,
        actor: str,
        role: str,
        status: str | None = None,
        handler_note: str | None = None,
    ) -> Report:
        """Move a report one step on (and/or set the handler's note); audited in the same transaction."""
        if status is not None and status not in STATUSES:
            raise InvalidInputError(f"status must be one of {STATUSES}")
        with self._tx() as s:
            row = s.get(ReportRow, tracking_number, with_for_update=True)
            if row is None:
                raise NotFoundError(f"unknown report {tracking_number!r}")
            before = _report(row)
            if status is not None and status != row.status:
                if NEXT_STATUS.get(row.status) != status:
                    raise ConflictError(f"a report that is {row.status} cannot become {status}")
                row.status = status
            now = time.time()
            if handler_note is not None:
                row.handler_note = mask_pii(handler_note)
            row.updated_at = now
            step = {"status": row.status, "at": now, "actor": actor, "note": row.handler_note}
            row.history = [*before.history, step]
            s.flush()
            after = _report(row)
            s.add(
                AuditRow(
                    actor=actor,
                    role=role,
                    action="report.update",
                    target=tracking_number,
                    at=now,
                    before={"status": before.status, "handler_note": before.handler_note},
                    after={"status": after.status, "handler_note": after.handler_note},
                )
            )
            return after
