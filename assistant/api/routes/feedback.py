"""``POST /v1/feedback``: a thumbs up/down (and optional comment) stored with the exchange it rates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ...errors import NotFoundError
from ..deps import MetricsDep, PrincipalDep, StoreDep
from ..logging import log_event
from ..ownership import check_exchange
from ..schemas import ERROR_RESPONSES, FeedbackRequest, FeedbackResponse

router = APIRouter(tags=["feedback"])


@router.post(
    "/v1/feedback",
    status_code=201,
    response_model=FeedbackResponse,
    responses=ERROR_RESPONSES | {404: ERROR_RESPONSES[422] | {"description": "unknown request_id"}},
    summary="Rate an answer",
)
async def feedback(
    body: FeedbackRequest, store: StoreDep, metrics: MetricsDep, principal: PrincipalDep
) -> dict[str, Any]:
    await run_in_threadpool(check_exchange, store, principal, body.request_id, body.session_id)
    if not await run_in_threadpool(store.add_feedback, body.request_id, body.rating, body.comment):
        raise NotFoundError(f"unknown request_id {body.request_id!r}")
    metrics.feedback.labels(body.rating).inc()
    await run_in_threadpool(  # masks the comment: CPU work, off the loop
        log_event, "feedback", rated_request_id=body.request_id, rating=body.rating, comment=body.comment
    )
    return {"ok": True, "request_id": body.request_id}
