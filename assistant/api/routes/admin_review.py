"""``/v1/admin/exchanges`` and ``/v1/admin/insights``: conversation review for the console.

Exchanges are listed with filters (date range, channel, answered_by, hand-off reason, rating,
confidence below x, department, text, verdict), PII masked, with the hits and scores behind each
answer; exported as CSV or JSONL; reviewers mark them correct / wrong / needs a curated answer (audited);
the reviewed ones export as an evaluation dataset for ``python -m evals run``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ...curated.db_source import to_entry
from ...errors import NotFoundError
from ...review import exports, insights
from ...review.queries import ExchangeFilter, iter_exchanges, list_exchanges
from ...review.records import Verdict, exchange_record, iso
from ...storage import Database
from ..admin_schemas import ADMIN_ERRORS
from ..deps import DatabaseDep, ReviewerDep, StaffDep
from ..review_schemas import ExchangeList, Insights, ReviewIn, ReviewOut
from ._review import audit, day_start, download

router = APIRouter(prefix="/v1/admin", tags=["admin: review"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown request id", **ADMIN_ERRORS[422]}}


def exchange_filter(
    since: Annotated[dt.date | None, Query(description="first day (ISO date)")] = None,
    until: Annotated[dt.date | None, Query(description="last day, inclusive (ISO date)")] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    answered_by: Annotated[str | None, Query(max_length=32)] = None,
    handoff: Annotated[str | None, Query(max_length=64, description="hand-off reason")] = None,
    rating: Annotated[Literal["up", "down", "none"] | None, Query()] = None,
    confidence_below: Annotated[float | None, Query(ge=0, le=1)] = None,
    department: Annotated[str | None, Query(max_length=200)] = None,
    text: Annotated[str | None, Query(max_length=200, description="in the question or the answer")] = None,
    verdict: Annotated[
        Literal["correct", "wrong", "needs_curated", "reviewed", "unreviewed"] | None, Query()
    ] = None,
) -> ExchangeFilter:
    return ExchangeFilter(
        since=day_start(since),
        until=day_start(until, end=True),
        channel=channel or None,
        answered_by=answered_by or None,
        handoff=handoff or None,
        rating=rating,
        confidence_below=confidence_below,
        department=department or None,
        text=text or None,
        verdict=verdict,
    )


FilterDep = Annotated[ExchangeFilter, Depends(exchange_filter)]


@router.get(
    "/exchanges", response_model=ExchangeList, responses=ADMIN_ERRORS, summary="Stored exchanges, filtered"
)
def list_(
    db: DatabaseDep,
    who: StaffDep,
    f: FilterDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ExchangeList:
    page, total = list_exchanges(db, f, limit=limit, offset=offset)
    return ExchangeList(
        items=[exchange_record(ex, v) for ex, v in page], total=total, limit=limit, offset=offset
    )


@router.get(
    "/exchanges/export",
    response_class=Response,
    responses={**ADMIN_ERRORS, 200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
    summary="Download the filtered exchanges as CSV or JSONL",
)
def export(db: DatabaseDep, who: StaffDep, f: FilterDep, format: Literal["csv", "jsonl"] = "csv") -> Response:
    records = [exchange_record(ex, v) for ex, v in iter_exchanges(db, f)]
    text = exports.to_csv(records) if format == "csv" else exports.to_jsonl(records)
    audit(db, who, "exchanges.export", f"exchanges:{format}", after={"rows": len(records)})
    return download(text, "exchanges", format)


@router.get(
    "/exchanges/eval-dataset",
    response_class=Response,
    responses={**ADMIN_ERRORS, 200: {"content": {"application/x-ndjson": {}}}},
    summary="Reviewed exchanges as an evaluation dataset (JSONL for python -m evals run --dataset)",
)
def eval_dataset(db: DatabaseDep, who: StaffDep, f: FilterDep) -> Response:
    if f.verdict is None:
        f.verdict = "reviewed"
    records = [exchange_record(ex, v) for ex, v in iter_exchanges(db, f)]
    result = exports.eval_dataset(records, [to_entry(a) for a in db.curated.list()])
    audit(
        db,
        who,
        "exchanges.eval_export",
        "exchanges:eval",
        after={"rows": len(result.rows), "skipped": len(result.skipped)},
    )
    response = download(result.jsonl(), "reviewed-eval", "jsonl")
    response.headers["X-Skipped-Rows"] = str(len(result.skipped))
    return response


def _one(db: Database, request_id: str) -> tuple[object, Verdict | None]:
    found, _ = list_exchanges(db, ExchangeFilter(request_id=request_id), limit=1)
    if not found:
        raise NotFoundError(f"unknown exchange {request_id!r}")
    return found[0]


@router.get(
    "/exchanges/{request_id}",
    response_model=dict,
    responses={**ADMIN_ERRORS, **NOT_FOUND},
    summary="One exchange with its hits, feedback and latest review",
)
def get_one(request_id: str, db: DatabaseDep, who: StaffDep) -> dict:  # type: ignore[type-arg]
    ex, verdict = _one(db, request_id)
    record = exchange_record(ex, verdict)  # type: ignore[arg-type]
    record["reviews"] = [
        {"verdict": r.verdict, "note": r.note, "reviewer": r.reviewer, "at": iso(r.at)}
        for r in db.reviews.list(request_id=request_id)
    ]
    return record


@router.post(
    "/exchanges/{request_id}/review",
    response_model=ReviewOut,
    responses={**ADMIN_ERRORS, **NOT_FOUND},
    summary="Mark an exchange reviewed: correct, wrong or needs a curated answer (with a note)",
)
def review(request_id: str, body: ReviewIn, db: DatabaseDep, who: ReviewerDep) -> ReviewOut:
    _, before = _one(db, request_id)
    r = db.reviews.add(request_id, body.verdict, reviewer=who.actor, note=body.note)
    audit(
        db,
        who,
        "exchange.review",
        f"exchange:{request_id}",
        before=None if before is None else {"verdict": before.verdict, "note": before.note},
        after={"verdict": r.verdict, "note": r.note},
    )
    return ReviewOut(request_id=request_id, verdict=r.verdict, note=r.note, reviewer=r.reviewer, at=iso(r.at))


@router.get(
    "/insights",
    response_model=Insights,
    responses=ADMIN_ERRORS,
    summary="Topics, hand-offs, ratings and answer paths, with SVG charts",
)
def get_insights(
    request: Request,
    db: DatabaseDep,
    who: ReviewerDep,
    since: Annotated[dt.date | None, Query(description="first day (ISO date)")] = None,
    until: Annotated[dt.date | None, Query(description="last day, inclusive (ISO date)")] = None,
    below: Annotated[
        float, Query(ge=0, le=1, description="low-confidence cut-off")
    ] = insights.LOW_CONFIDENCE,
) -> Insights:
    f = ExchangeFilter(since=day_start(since), until=day_start(until, end=True))
    records = [exchange_record(ex, v) for ex, v in iter_exchanges(db, f, cap=20_000)]
    embed = request.app.state.question_vectors
    return Insights.model_validate(insights.compute(records, embed, below=below))
