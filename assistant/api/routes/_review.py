"""What the review-side admin routes share: the audit write, time and filter parsing, file downloads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.responses import Response

from ...storage import Database
from ..security import Principal

DOWNLOAD_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def audit(
    db: Database, who: Principal, action: str, target: str, before: Any = None, after: Any = None
) -> None:
    """Append one entry to the audit log (who, what, when, before/after)."""
    db.audit.record(who.actor, who.role or "", action, target, before=before, after=after)


def day_start(value: dt.date | None, *, end: bool = False) -> float | None:
    """The start (UTC) of day ``value`` — with ``end``, of the day after — as epoch seconds; None for none."""
    if value is None:
        return None
    day = value + dt.timedelta(days=1 if end else 0)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def download(text: str, name: str, fmt: str) -> Response:
    """A file download; CSV gets a UTF-8 BOM so spreadsheet programs read the Chinese."""
    body = ("\ufeff" + text) if fmt == "csv" else text
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        body.encode("utf-8"),
        media_type=DOWNLOAD_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.{fmt}"'},
    )
