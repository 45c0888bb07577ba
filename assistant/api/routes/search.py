"""``GET /v1/search``: retrieval only, for the kiosk search box and integrators."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from ...presentation import snippet
from ...types import Hit
from ..deps import AssistantDep, PrincipalDep, RequestIdDep, SettingsDep
from ..schemas import ERROR_RESPONSES, HAS_TEXT_PATTERN, SearchResponse, SearchResult
from ._common import check_question, run_blocking

router = APIRouter(tags=["search"])


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
) -> SearchResponse:
    query = check_question(q, settings.api.max_question_chars)
    hits: list[Hit] = await run_blocking(request, assistant.search, query, k, region)
    return SearchResponse(query=query, results=[result(h) for h in hits], request_id=request_id)


def result(hit: Hit) -> SearchResult:
    meta = hit.chunk.metadata
    return SearchResult(
        doc_id=hit.chunk.doc_id,
        chunk_id=hit.chunk.id,
        title=hit.chunk.title,
        score=round(float(hit.score), 6),
        snippet=snippet(hit.chunk.text),
        type=str(meta.get("type", "") or ""),
        department=str(meta.get("department", "") or ""),
        region=str(meta.get("region", "") or ""),
        url=str(meta.get("url", "") or ""),
        doc_number=str(meta.get("doc_number", "") or ""),
        status=str(meta.get("status", "") or ""),
        section=hit.chunk.section,
    )
