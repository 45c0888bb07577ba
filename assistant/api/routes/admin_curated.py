"""``/v1/admin/curated``: curated answers (人工修正答案) — list, create, edit, delete, pre-fill from an exchange.

Editors (and admins) write; every reviewer may read. Every change is audited with before/after and
bumps the curated version, so every worker answers with the change on its next question.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from ...errors import NotFoundError
from ...presentation import without_footer
from ...storage import Database
from ..admin_schemas import ADMIN_ERRORS
from ..deps import DatabaseDep, EditorDep, StaffDep
from ..review_schemas import CuratedCreated, CuratedDraft, CuratedIn, CuratedList, CuratedOut, CuratedPatch
from ._review import audit

router = APIRouter(prefix="/v1/admin/curated", tags=["admin: curated answers"])
# a curated entry id: a database integer (64-bit; larger ids cannot exist and must not reach SQLite)
CuratedId = Annotated[int, Path(ge=1, le=2**63 - 1)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown id", **ADMIN_ERRORS[422]}}


def _changed(request: Request) -> None:
    request.app.state.curated_source.changed()


def _unknown(assistant: Any, sources: list[str]) -> list[str]:
    return [s for s in sources if not assistant.has_document(s)]


@router.get("", response_model=CuratedList, responses=ADMIN_ERRORS, summary="List curated answers")
def list_curated(
    db: DatabaseDep,
    who: StaffDep,
    status: str | None = Query(None, max_length=16),
    department: str | None = Query(None, max_length=200),
    text: str | None = Query(None, max_length=200, description="in a question variant or the answer"),
) -> CuratedList:
    items = db.curated.list(status=status or None, department=department or None)
    if text:
        items = [a for a in items if text in a.answer or any(text in q for q in a.questions)]
    items.sort(key=lambda a: -a.updated_at)
    return CuratedList(items=[CuratedOut(**a.to_dict()) for a in items], total=len(items))


@router.post(
    "",
    status_code=201,
    response_model=CuratedCreated,
    responses=ADMIN_ERRORS,
    summary="Create a curated answer (published by default: citizens get it at once)",
)
def create_curated(body: CuratedIn, request: Request, db: DatabaseDep, who: EditorDep) -> CuratedCreated:
    entry = db.curated.create(
        body.questions,
        body.answer,
        actor=who.actor,
        sources=body.sources,
        department=body.department,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        status=body.status,
    )
    after = (
        {**entry.to_dict(), "from_exchange": body.from_exchange} if body.from_exchange else entry.to_dict()
    )
    audit(db, who, "curated.create", f"curated:{entry.id}", after=after)
    _changed(request)
    return CuratedCreated(id=entry.id, unknown_sources=_unknown(request.app.state.assistant, body.sources))


@router.get(
    "/prefill/{request_id}",
    response_model=CuratedDraft,
    responses={**ADMIN_ERRORS, **NOT_FOUND},
    summary="A curated answer pre-filled from a stored exchange (the one-click fix of a reviewed answer)",
)
def prefill(request_id: str, db: DatabaseDep, who: EditorDep) -> CuratedDraft:
    from ...review.queries import ExchangeFilter, list_exchanges

    found, _ = list_exchanges(db, ExchangeFilter(request_id=request_id), limit=1)
    if not found:
        raise NotFoundError(f"unknown exchange {request_id!r}")
    ex, verdict = found[0]
    # [1] is the source the answer quotes (the rest are 参考来源); a curated answer's [1] is itself
    cited = [str(c.get("doc_id", "")) for c in ex.citations]
    sources = cited[1:] if cited and cited[0].startswith("curated:") else cited[:1]
    return CuratedDraft(
        questions=[ex.question],
        answer=without_footer(ex.answer) if ex.answered_by != "handoff" else "",
        sources=list(dict.fromkeys(sources)),
        department=ex.department,
        from_exchange=request_id,
        verdict=verdict.verdict if verdict else "",
        note=verdict.note if verdict else "",
    )


def _get(db: Database, curated_id: int) -> Any:
    found = db.curated.get(curated_id)
    if found is None:
        raise NotFoundError(f"unknown curated answer {curated_id}")
    return found


@router.get(
    "/{curated_id}",
    response_model=CuratedOut,
    responses={**ADMIN_ERRORS, **NOT_FOUND},
    summary="One curated answer",
)
def get_curated(curated_id: CuratedId, db: DatabaseDep, who: StaffDep) -> CuratedOut:
    return CuratedOut(**_get(db, curated_id).to_dict())


@router.patch(
    "/{curated_id}",
    response_model=CuratedOut,
    responses={**ADMIN_ERRORS, **NOT_FOUND},
    summary="Edit a curated answer",
)
def patch_curated(
    curated_id: CuratedId, body: CuratedPatch, request: Request, db: DatabaseDep, who: EditorDep
) -> CuratedOut:
    before = _get(db, curated_id).to_dict()
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    after = db.curated.update(curated_id, actor=who.actor, **changes)
    audit(db, who, "curated.update", f"curated:{curated_id}", before=before, after=after.to_dict())
    _changed(request)
    return CuratedOut(**after.to_dict())


@router.delete(
    "/{curated_id}",
    status_code=204,
    responses={**ADMIN_ERRORS, **NOT_FOUND},
    summary="Delete a curated answer",
)
def delete_curated(curated_id: CuratedId, request: Request, db: DatabaseDep, who: EditorDep) -> Response:
    before = _get(db, curated_id).to_dict()
    db.curated.delete(curated_id)
    audit(db, who, "curated.delete", f"curated:{curated_id}", before=before)
    _changed(request)
    return Response(status_code=204)
