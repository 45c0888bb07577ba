"""``/v1/admin/index/...`` (kept generations, rollback) and ``/v1/admin/jobs`` (ingest job progress)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request

from ...admin.services import AdminServices
from ...errors import NotFoundError
from ...index.store import GenerationInfo, list_generations, set_current
from ..admin_schemas import (
    GenerationList,
    GenerationOut,
    JobList,
    JobOut,
    RollbackRequest,
    RollbackResult,
    admin_errors,
)
from ..deps import EditorDep, StaffDep
from ..index_events import index_changed

router = APIRouter(prefix="/v1/admin", tags=["admin: index"])


def _admin(request: Request) -> AdminServices:
    return request.app.state.admin  # type: ignore[no-any-return]


def _serving(request: Request) -> str | None:
    assistant = request.app.state.assistant
    return assistant.describe()["retriever"].get("generation") if assistant.ready else None


def _gen(g: GenerationInfo) -> GenerationOut:
    return GenerationOut(
        name=g.name,
        created_at=g.created_at,
        documents=g.documents,
        chunks=g.chunks,
        embedder=g.embedder,
        current=g.current,
    )


@router.get(
    "/index/generations",
    response_model=GenerationList,
    responses=admin_errors(401, 403),
    summary="The kept index generations, newest first (admin.keep_generations)",
)
async def generations(request: Request, _who: StaffDep) -> GenerationList:
    gens = await asyncio.to_thread(list_generations, request.app.state.settings.index_dir)
    return GenerationList(items=[_gen(g) for g in gens], serving=_serving(request))


@router.post(
    "/index/rollback",
    response_model=RollbackResult,
    responses=admin_errors(401, 403, 404, 422),
    summary="Point the index at a kept generation; every server process switches without a restart",
)
async def rollback(request: Request, body: RollbackRequest, who: EditorDep) -> RollbackResult:
    admin = _admin(request)
    index_dir = request.app.state.settings.index_dir
    before = next((g.name for g in await asyncio.to_thread(list_generations, index_dir) if g.current), None)
    gen = await asyncio.to_thread(set_current, index_dir, body.generation)
    admin.audit.record(
        who.actor, who.role or "admin", "index.rollback", body.generation, before=before, after=gen.name
    )
    await asyncio.to_thread(index_changed, request.app)  # this process at once; the others follow
    return RollbackResult(generation=_gen(gen), serving=_serving(request))


def _job(job: object) -> JobOut:
    return JobOut.model_validate(job, from_attributes=True)


@router.get(
    "/jobs",
    response_model=JobList,
    responses=admin_errors(401, 403, 422),
    summary="Recent ingest jobs, newest first",
)
async def jobs(request: Request, _who: StaffDep, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> JobList:
    found = await asyncio.to_thread(_admin(request).jobs.list, limit=limit)
    return JobList(items=[_job(j) for j in found])


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    responses=admin_errors(401, 403, 404),
    summary="One job: status queued | running | done | failed, progress 0..1, message",
)
async def job(request: Request, job_id: str, _who: StaffDep) -> JobOut:
    found = await asyncio.to_thread(_admin(request).jobs.get, job_id)
    if found is None:
        raise NotFoundError(f"no job {job_id!r}")
    return _job(found)
