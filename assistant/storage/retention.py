"""Retention: purge records older than ``retention.days`` and export them for auditors.

``purge`` deletes exchanges (with their feedback), feedback, reviews, closed reports (已办结 and
untouched since the cutoff; open ones stay until handled, flagged overdue) and audit entries older
than the cutoff, then sessions left empty and idle since the cutoff, and writes one audit entry
with the counts. A record exactly at the cutoff is kept. ``run_once`` is what the scheduled job
calls: it takes a lease in ``kv_state`` first, so one replica out of many purges per interval.
``export`` writes exchanges (with feedback), reports and audit entries of a period as JSON lines,
every string passed through ``mask_pii`` again (texts were masked when stored; this also covers
free text inside audit snapshots).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import delete, exists, select

from ..config import RetentionSettings
from ..safety import mask_pii
from .base import Transactions, rowcount
from .database import Database
from .engine import READ_ONLY
from .models import AuditRow, ExchangeRow, FeedbackRow, ReportRow, ReviewRow, SessionRow
from .reports import DONE

DAY_S = 86400.0
LEASE = "retention.purge"
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def cutoff_for(retention: RetentionSettings, now: float | None = None) -> float:
    return (time.time() if now is None else now) - retention.days * DAY_S


def purge(
    db: Database, retention: RetentionSettings, *, now: float | None = None, actor: str = "retention"
) -> dict[str, int]:
    """Delete what is older than the retention period; the counts (also written to the audit log)."""
    cutoff = cutoff_for(retention, now)
    old_exchanges = select(ExchangeRow.request_id).where(ExchangeRow.created_at < cutoff)
    counts: dict[str, int] = {}
    with Transactions(db.engine)() as s:
        counts["feedback"] = rowcount(
            s.execute(
                delete(FeedbackRow).where(
                    (FeedbackRow.created_at < cutoff) | FeedbackRow.request_id.in_(old_exchanges)
                )
            )
        )
        counts["exchanges"] = rowcount(s.execute(delete(ExchangeRow).where(ExchangeRow.created_at < cutoff)))
        has_exchange = exists().where(ExchangeRow.session_id == SessionRow.session_id)
        counts["sessions"] = rowcount(
            s.execute(delete(SessionRow).where(SessionRow.last_active < cutoff, ~has_exchange))
        )
        counts["reviews"] = rowcount(s.execute(delete(ReviewRow).where(ReviewRow.at < cutoff)))
        counts["reports"] = rowcount(
            s.execute(delete(ReportRow).where(ReportRow.status == DONE, ReportRow.updated_at < cutoff))
        )
        counts["audit"] = rowcount(s.execute(delete(AuditRow).where(AuditRow.at < cutoff)))
    db.audit.record(
        actor, "system", "retention.purge", f"before:{cutoff:.0f}", None, counts | {"days": retention.days}
    )
    return counts


def run_once(db: Database, retention: RetentionSettings, *, holder: str = HOLDER) -> dict[str, int] | None:
    """The scheduled job's body: purge unless another replica holds the lease; None when skipped."""
    ttl = max(60.0, retention.interval_minutes * 60.0)
    if not db.state.acquire_lease(LEASE, holder, ttl):
        return None
    # the lease stays until it expires: the next purge is due an interval later, on whichever replica
    return purge(db, retention)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


def records(db: Database, since: float | None = None, until: float | None = None) -> Iterator[dict[str, Any]]:
    """Exchanges (with feedback), reports and audit entries created in [since, until), oldest first."""

    def window(column: Any) -> list[Any]:
        cond = []
        if since is not None:
            cond.append(column >= since)
        if until is not None:
            cond.append(column < until)
        return cond

    with Transactions(db.engine.execution_options(**{READ_ONLY: True}))() as s:
        query = (
            select(ExchangeRow, FeedbackRow)
            .outerjoin(FeedbackRow, FeedbackRow.request_id == ExchangeRow.request_id)
            .where(*window(ExchangeRow.created_at))
            .order_by(ExchangeRow.id)
            .execution_options(yield_per=500)
        )
        for ex, fb in s.execute(query):
            yield {
                "type": "exchange",
                "request_id": ex.request_id,
                "session_id": ex.session_id,
                "created_at": ex.created_at,
                "channel": ex.channel,
                "question": ex.question,
                "answer": ex.answer,
                "answered_by": ex.answered_by,
                "handoff": ex.handoff,
                "confidence": ex.confidence,
                "department": ex.department,
                "citations": ex.citations,
                "hits": ex.hits,
                "meta": ex.meta,
                "feedback": None
                if fb is None
                else {"rating": fb.rating, "comment": fb.comment, "created_at": fb.created_at},
            }
        for r in s.scalars(
            select(ReportRow).where(*window(ReportRow.created_at)).order_by(ReportRow.created_at)
        ):
            yield {
                "type": "report",
                "tracking_number": r.tracking_number,
                "request_id": r.request_id,
                "reason": r.reason,
                "note": r.note,
                "status": r.status,
                "created_at": r.created_at,
                "deadline": r.deadline,
                "updated_at": r.updated_at,
                "handler_note": r.handler_note,
                "history": r.history,
            }
        for a in s.scalars(select(AuditRow).where(*window(AuditRow.at)).order_by(AuditRow.id)):
            yield {
                "type": "audit",
                "id": a.id,
                "actor": a.actor,
                "role": a.role,
                "action": a.action,
                "target": a.target,
                "at": a.at,
                "before": a.before,
                "after": a.after,
            }


def export(
    db: Database, out: Path, *, since: float | None = None, until: float | None = None, actor: str = "cli"
) -> dict[str, int]:
    """Write the period's records to ``out`` (JSON lines, PII masked); counts per type (audited)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    counts = {"exchange": 0, "report": 0, "audit": 0}
    tmp = out.with_name(out.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        for record in records(db, since, until):
            counts[record["type"]] += 1
            fh.write(json.dumps(_masked(record), ensure_ascii=False) + "\n")
    tmp.replace(out)
    db.audit.record(
        actor, "system", "retention.export", str(out.name), None, counts | {"since": since, "until": until}
    )
    return counts
