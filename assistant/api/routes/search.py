"""``GET /v1/search``: retrieval only, for the kiosk search box and integrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ...types import Hit
from ..deps import AssistantDep, PrincipalDep, RequestIdDep, SettingsDep
from ..schemas import ERROR_RESPONSES, HAS_TEXT_PATTERN, SearchResponse
from ._common import check_question, run_blocking

router = APIRouter(tags=["search"])

SNIPPET_CHARS = 160


@router.get(
    "/v1/search",
    response_model=SearchResponse,
    responses=ERROR_RESPONSES,
    summary="Search the knowledge base",
)
async def search(
    request: Request,
    assistant: AssistantDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    _principal: PrincipalDep,
    q: str = Query(
        min_length=1,
        max_length=100_000,
        pattern=HAS_TEXT_PATTERN,
        description="query (limit: see openapi.py)",
    ),
    k: int = Query(default=5, ge=1, le=50),
    region: str | None = Query(default=None, max_length=64),
) -> JSONResponse:
    query = check_question(q, settings.api.max_question_chars)
    hits: list[Hit] = await run_blocking(request, assistant.search, query, k, region)
    return JSONResponse({"query": query, "results": [result(h) for h in hits], "request_id": request_id})


def result(hit: Hit) -> dict[str, Any]:
    meta = hit.chunk.metadata
    text = hit.chunk.text
    return {
        "doc_id": hit.chunk.doc_id,
        "chunk_id": hit.chunk.id,
        "title": hit.chunk.title,
        "score": round(float(hit.score), 6),
        "snippet": text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…",
        "type": meta.get("type", ""),
        "department": meta.get("department", ""),
        "region": meta.get("region", ""),
        "url": meta.get("url", ""),
        "doc_number": meta.get("doc_number", ""),
        "status": meta.get("status", ""),
        "section": hit.chunk.section,
    }
