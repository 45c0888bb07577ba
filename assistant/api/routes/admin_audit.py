"""``/v1/admin/audit``: the append-only audit log, filtered and paginated, and its CSV / JSONL export (admins)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ...review import exports
from ...review.records import iso
from ...storage import Database
from ..admin_schemas import ADMIN_ERRORS
from ..deps import AdminRoleDep, DatabaseDep
from ..review_schemas import AuditItem, AuditList
from ._review import audit, day_start, download

router = APIRouter(prefix="/v1/admin/audit", tags=["admin: audit"])
EXPORT_MAX = 100_000
AUDIT_COLUMNS = ("id", "at", "actor", "role", "action", "target", "before", "after")


def _filters(
    actor: str | None, action: str | None, target: str | None, since: dt.date | None, until: dt.date | None
) -> dict[str, Any]:
    return {
        "actor": actor or None,
        "action": action or None,
        "target": target or None,
        "since": day_start(since),
        "until": day_start(until, end=True),
    }


def _item(e: Any) -> AuditItem:
    return AuditItem(
        id=e.id,
        actor=e.actor,
        role=e.role,
        action=e.action,
        target=e.target,
        at=iso(e.at),
        at_ts=e.at,
        before=e.before,
        after=e.after,
    )


Actor = Annotated[str | None, Query(max_length=200, description="e.g. admin:1a2b3c4d")]
Action = Annotated[str | None, Query(max_length=64, description="e.g. curated.create")]
Target = Annotated[str | None, Query(max_length=300)]
Since = Annotated[dt.date | None, Query(description="first day (ISO date)")]
Until = Annotated[dt.date | None, Query(description="last day, inclusive (ISO date)")]


@router.get("", response_model=AuditList, responses=ADMIN_ERRORS, summary="Audit log entries, newest first")
def list_audit(
    db: DatabaseDep,
    who: AdminRoleDep,
    actor: Actor = None,
    action: Action = None,
    target: Target = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditList:
    found = db.audit.list(**_filters(actor, action, target, since, until), limit=limit + 1, offset=offset)
    return AuditList(
        items=[_item(e) for e in found[:limit]], limit=limit, offset=offset, has_more=len(found) > limit
    )


def _all(db: Database, filters: dict[str, Any]) -> list[AuditItem]:
    items: list[AuditItem] = []
    while len(items) < EXPORT_MAX:
        page = db.audit.list(**filters, limit=1000, offset=len(items))
        items.extend(_item(e) for e in page)
        if len(page) < 1000:
            break
    return items


@router.get(
    "/export",
    response_class=Response,
    responses={**ADMIN_ERRORS, 200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
    summary="Download the filtered audit log as CSV or JSONL",
)
def export_audit(
    db: DatabaseDep,
    who: AdminRoleDep,
    actor: Actor = None,
    action: Action = None,
    target: Target = None,
    since: Since = None,
    until: Until = None,
    format: Literal["csv", "jsonl"] = "csv",
) -> Response:
    items = [i.model_dump() for i in _all(db, _filters(actor, action, target, since, until))]
    if format == "jsonl":
        text = exports.to_jsonl(items)
    else:

        def row(i: dict[str, Any]) -> list[str]:
            return [
                exports.cell(json.dumps(i[c], ensure_ascii=False) if c in ("before", "after") else i[c])
                for c in AUDIT_COLUMNS
            ]

        text = exports.to_csv(items, AUDIT_COLUMNS, row)
    audit(db, who, "audit.export", f"audit:{format}", after={"rows": len(items)})
    return download(text, "audit", format)
