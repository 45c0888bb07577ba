"""``/healthz`` (process up), ``/readyz`` (index loaded) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..deps import AdminDep, MetricsDep
from ..errors import APIError
from ..schemas import ERROR_RESPONSES

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: 200 whenever the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: ERROR_RESPONSES[503]},
    summary="Readiness: 503 until the index and models are loaded",
)
async def readyz(request: Request) -> dict[str, Any]:
    assistant = request.app.state.assistant
    if not assistant.ready:
        error = request.app.state.load_error
        raise APIError(503, "not_ready", error or "loading the index", headers={"Retry-After": "5"})
    return {"status": "ready", **assistant.describe()}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 401: ERROR_RESPONSES[401]},
    summary="Prometheus metrics (admin key once keys are configured)",
)
async def metrics(metrics: MetricsDep, _admin: AdminDep) -> Response:
    return Response(metrics.render(), media_type=metrics.content_type)
