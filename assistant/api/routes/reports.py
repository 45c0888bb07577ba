"""Citizens' complaints about answers (投诉/举报): file one, look it up by tracking number, handle it (admin).

Thin routes over ``db.reports`` (``assistant/storage/reports.py`` holds the workflow rule and audits
every change). Filing needs the answer's ``request_id`` to be a stored exchange (else 404); the
tracking number is unguessable, so whoever holds it may read the report's status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from ...errors import InvalidInputError, NotFoundError
from ...sessions import SessionStore
from ...storage import Report
from ..deps import DatabaseDep, PrincipalDep, ReviewerDep, SettingsDep, StoreDep
from ..logging import log_event
from ..schemas import (
    ERROR_RESPONSES,
    TRACKING_NUMBER_PATTERN,
    ReportAdminOut,
    ReportCreated,
    ReportList,
    ReportRequest,
    ReportStatus,
    ReportStatusOut,
    ReportUpdate,
)

router = APIRouter(tags=["reports"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: ERROR_RESPONSES[422] | {"description": "unknown tracking number"}
}
TrackingNumber = Path(
    pattern=TRACKING_NUMBER_PATTERN, description="the number given when the report was filed"
)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def citizen_view(report: Report) -> dict[str, Any]:
    """What the person holding the tracking number sees (no note, no request id, no handler names)."""
    return {
        "tracking_number": report.tracking_number,
        "status": report.status,
        "reason": report.reason,
        "created_at": iso(report.created_at),
        "deadline": iso(report.deadline),
        "updated_at": iso(report.updated_at),
        "overdue": report.overdue(),
        "handler_note": report.handler_note,
        "history": [{"status": h["status"], "at": iso(h["at"])} for h in report.history],
    }


def admin_view(report: Report, store: SessionStore) -> dict[str, Any]:
    """The handler's view: the citizen's note and the reported answer (None once purged or erased)."""
    ex = store.get(report.request_id)
    exchange = None
    if ex is not None:
        exchange = {
            "question": ex.question,
            "answer": ex.answer,
            "answered_by": ex.answered_by,
            "channel": ex.channel,
            "created_at": iso(ex.created_at),
            "citations": ex.citations,
        }
    return citizen_view(report) | {"request_id": report.request_id, "note": report.note, "exchange": exchange}


@router.post(
    "/v1/reports",
    status_code=201,
    response_model=ReportCreated,
    responses=ERROR_RESPONSES | {404: ERROR_RESPONSES[422] | {"description": "unknown request_id"}},
    summary="Report a problem with an answer (投诉/举报)",
)
async def file_report(
    body: ReportRequest, db: DatabaseDep, store: StoreDep, settings: SettingsDep, _principal: PrincipalDep
) -> dict[str, Any]:
    if len(body.note) > settings.reports.max_note_chars:
        raise InvalidInputError(f"note is longer than {settings.reports.max_note_chars} characters")
    if await run_in_threadpool(store.session_of, body.request_id) is None:
        raise NotFoundError(f"unknown request_id {body.request_id!r}")
    report = await run_in_threadpool(
        lambda: db.reports.create(
            body.request_id, body.reason, body.note, deadline_days=settings.reports.deadline_days
        )
    )
    log_event("report", tracking_number=report.tracking_number, reported_request_id=body.request_id)
    return citizen_view(report)


@router.get(
    "/v1/reports/{tracking_number}",
    response_model=ReportStatusOut,
    responses=ERROR_RESPONSES | NOT_FOUND,
    summary="A report's status, by its tracking number",
)
async def report_status(
    db: DatabaseDep, _principal: PrincipalDep, tracking_number: str = TrackingNumber
) -> dict[str, Any]:
    report = await run_in_threadpool(db.reports.get, tracking_number)
    if report is None:
        raise NotFoundError("unknown tracking number")
    return citizen_view(report)


@router.get(
    "/v1/admin/reports",
    response_model=ReportList,
    responses=ERROR_RESPONSES,
    summary="Reports to handle (filter by status, overdue)",
)
async def list_reports(
    db: DatabaseDep,
    store: StoreDep,
    _staff: ReviewerDep,  # admin or reviewer: handling citizens' reports is review work
    status: ReportStatus | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    def page() -> list[dict[str, Any]]:
        found = db.reports.list(status=status, overdue=overdue, limit=limit, offset=offset)
        return [admin_view(r, store) for r in found]

    return {"reports": await run_in_threadpool(page)}


@router.patch(
    "/v1/admin/reports/{tracking_number}",
    response_model=ReportAdminOut,
    responses=ERROR_RESPONSES
    | NOT_FOUND
    | {409: ERROR_RESPONSES[422] | {"description": "not the next step of 待处理 → 处理中 → 已办结"}},
    summary="Move a report on and/or reply to the citizen (audited)",
)
async def update_report(
    body: ReportUpdate,
    db: DatabaseDep,
    store: StoreDep,
    staff: ReviewerDep,
    tracking_number: str = TrackingNumber,
) -> dict[str, Any]:
    def change() -> dict[str, Any]:
        report = db.reports.update(
            tracking_number,
            actor=staff.actor,
            role=staff.role or "admin",
            status=body.status,
            handler_note=body.handler_note,
        )
        return admin_view(report, store)

    return await run_in_threadpool(change)
