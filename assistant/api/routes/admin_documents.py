"""``/v1/admin/documents``: list, open, upload, replace, edit metadata, delete, history, restore, alerts.

Thin: parse, call ``KnowledgeOps`` / ``Catalog`` (``assistant/admin``), shape the response. Changes
answer 202 with the ingest job that applies them (``GET /v1/admin/jobs/{job_id}``). Routes are plain
``def``: file writes and index reads run in the thread pool, never on the event loop.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from ...admin.catalog import DocumentFilter, DocumentSummary
from ...admin.knowledge import Operator
from ...admin.services import AdminServices
from ...types import Filters
from ...validity import today_iso
from ..admin_schemas import (
    DATE_PATTERN,
    DOCUMENT_ID_PATTERN,
    AlertsOut,
    ChunkOut,
    DocTypeName,
    DocumentAccepted,
    DocumentChanged,
    DocumentDetail,
    DocumentList,
    DocumentOut,
    MetadataPatch,
    RestoreRequest,
    StatusName,
    VersionList,
    VersionOut,
    admin_errors,
)
from ..deps import EditorDep, StaffDep
from ..errors import APIError
from ..security import Principal

router = APIRouter(prefix="/v1/admin/documents", tags=["admin: documents"])

READ = admin_errors(401, 403, 422)
SEARCH = admin_errors(401, 403, 422, 503)
WRITE = admin_errors(401, 403, 404, 409, 422)
UPLOAD = admin_errors(401, 403, 404, 409, 413, 422)


def _admin(request: Request) -> AdminServices:
    return request.app.state.admin  # type: ignore[no-any-return]


def _operator(principal: Principal) -> Operator:
    return Operator(principal.actor, principal.role or "admin")


def _outs(admin: AdminServices, summaries: list[DocumentSummary], today: str) -> list[DocumentOut]:
    overlay = admin.knowledge.overlay
    uploads, overrides = overlay.uploads(), overlay.overrides()  # read once per response
    return [
        DocumentOut(**d.to_dict(today), uploaded=d.id in uploads, overridden=bool(overrides.get(d.id)))
        for d in summaries
    ]


def _today(request: Request) -> str:
    return today_iso(request.app.state.settings.today)


@router.get(
    "", response_model=DocumentList, responses=SEARCH, summary="List and filter the indexed documents"
)
def list_documents(
    request: Request,
    _who: StaffDep,
    type: Annotated[str, Query(max_length=20, description="guide | policy | law | faq | page")] = "",
    region: Annotated[str, Query(max_length=100)] = "",
    department: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[StatusName | None, Query()] = None,
    validity: Annotated[str, Query(pattern="^(|in_force|not_in_force)$")] = "",
    doc_number: Annotated[str, Query(max_length=100, description="文号 contains")] = "",
    title: Annotated[str, Query(max_length=200)] = "",
    q: Annotated[
        str, Query(max_length=200, description="text search (hybrid retrieval, old documents too)")
    ] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DocumentList:
    admin, today = _admin(request), _today(request)
    ids = _text_search(request, q) if q.strip() else None
    flt = DocumentFilter(type, region, department, status or "", validity, doc_number, title)
    found = admin.catalog.search(flt, today, ids)
    page = found[offset : offset + limit]
    return DocumentList(
        items=_outs(admin, page, today),
        total=len(found),
        offset=offset,
        limit=limit,
        generation=admin.catalog.generation(),
    )


def _text_search(request: Request, q: str) -> list[str]:
    assistant = request.app.state.assistant
    if not assistant.ready:
        raise APIError(503, "not_ready", "the index is still loading", headers={"Retry-After": "5"})
    hits = assistant.retriever.search(q, k=100, filters=Filters(include_expired=True))
    return list(dict.fromkeys(h.doc_id for h in hits))


@router.get(
    "/alerts",
    response_model=AlertsOut,
    responses=READ,
    summary="Expiring, expired-but-current and uncited documents",
)
def alerts(request: Request, _who: StaffDep) -> AlertsOut:
    admin = _admin(request)
    s = admin.settings.admin
    since = time.time() - s.uncited_days * 86400
    data = admin.catalog.alerts(
        _today(request), s.expiry_warning_days, s.uncited_days, lambda: admin.citations(since)
    )
    return AlertsOut(**data)


@router.get(
    "/{document_id}",
    response_model=DocumentDetail,
    responses=WRITE,
    summary="One document: metadata and chunks",
)
def get_document(request: Request, document_id: str, _who: StaffDep) -> DocumentDetail:
    admin = _admin(request)
    summary, chunks = admin.catalog.get(document_id)
    state = admin.knowledge.state(document_id)
    return DocumentDetail(
        document=_outs(admin, [summary], _today(request))[0],
        chunks=[ChunkOut(id=c.id, section=c.section, kind=c.kind, text=c.text) for c in chunks],
        override=state["override"],
        upload=state["upload"],
    )


@router.post(
    "",
    status_code=202,
    response_model=DocumentAccepted,
    responses=UPLOAD,
    summary="Upload a document in any loader format (md, txt, html, pdf, docx, JSON/JSONL/YAML, …)",
    description="A file whose extension no loader reads, or an empty one, is refused with 422.",
)
def upload_document(
    who: EditorDep,
    request: Request,
    file: Annotated[UploadFile, File(description="the document file")],
    document_id: Annotated[
        str, Form(pattern=DOCUMENT_ID_PATTERN, description="id to use (default: generated)")
    ] = "",
    title: Annotated[str | None, Form(max_length=200)] = None,
    type: Annotated[DocTypeName | None, Form(description="guide | policy | law | faq | page")] = None,
    status: Annotated[StatusName | None, Form()] = None,
    effective_date: Annotated[str | None, Form(pattern=DATE_PATTERN)] = None,
    expiry_date: Annotated[str | None, Form(pattern=DATE_PATTERN)] = None,
    region: Annotated[str | None, Form(max_length=100)] = None,
    department: Annotated[str | None, Form(max_length=200)] = None,
    doc_number: Annotated[str | None, Form(max_length=100)] = None,
    aliases: Annotated[str | None, Form(max_length=2000, description="、 or comma separated")] = None,
) -> DocumentAccepted:
    fields: dict[str, Any] = {
        k: v
        for k, v in (
            ("title", title),
            ("type", type),
            ("status", status),
            ("effective_date", effective_date),
            ("expiry_date", expiry_date),
            ("region", region),
            ("department", department),
            ("doc_number", doc_number),
            ("aliases", aliases),
        )
        if v not in (None, "")
    }
    content = file.file.read()
    doc_id, job = _admin(request).knowledge.upload(
        _operator(who), file.filename or "", content, fields, document_id.strip()
    )
    return DocumentAccepted(document_id=doc_id, job_id=job.id)


@router.put(
    "/{document_id}/file",
    status_code=202,
    response_model=DocumentAccepted,
    responses=UPLOAD,
    summary="Replace a document's file (its metadata overrides stay)",
)
def replace_document(
    who: EditorDep, request: Request, document_id: str, file: Annotated[UploadFile, File()]
) -> DocumentAccepted:
    job = _admin(request).knowledge.replace(
        _operator(who), document_id, file.filename or "", file.file.read()
    )
    return DocumentAccepted(document_id=document_id, job_id=job.id)


@router.patch(
    "/{document_id}",
    response_model=DocumentChanged,
    responses=WRITE,
    summary="Edit metadata (status 现行有效/已修订/已废止, dates, region, department, aliases, …)",
)
def patch_document(
    who: EditorDep, request: Request, document_id: str, body: MetadataPatch
) -> DocumentChanged:
    fields = body.model_dump(exclude_unset=True)
    job = _admin(request).knowledge.update(_operator(who), document_id, fields)
    return DocumentChanged(document_id=document_id, job_id=job.id if job else None)


@router.delete(
    "/{document_id}",
    status_code=202,
    response_model=DocumentAccepted,
    responses=WRITE,
    summary="Delete a document from the index (its versions stay: it can be restored)",
)
def delete_document(who: EditorDep, request: Request, document_id: str) -> DocumentAccepted:
    job = _admin(request).knowledge.delete(_operator(who), document_id)
    return DocumentAccepted(document_id=document_id, job_id=job.id)


@router.get(
    "/{document_id}/versions",
    response_model=VersionList,
    responses=READ,
    summary="Version history: who, when, what changed",
)
def versions(request: Request, document_id: str, _who: StaffDep) -> VersionList:
    items = [
        VersionOut(
            version=v.version,
            action=v.action,
            actor=v.actor,
            at=v.at,
            filename=v.filename,
            sha256=v.sha256,
            changes=dict(v.metadata.get("changes") or {}),
            restored_version=v.metadata.get("restored_version"),
        )
        for v in _admin(request).knowledge.history(document_id)
    ]
    return VersionList(document_id=document_id, items=items)


@router.post(
    "/{document_id}/restore",
    status_code=202,
    response_model=DocumentAccepted,
    responses=WRITE,
    summary="Restore the file and metadata an earlier version recorded",
)
def restore(who: EditorDep, request: Request, document_id: str, body: RestoreRequest) -> DocumentAccepted:
    job = _admin(request).knowledge.restore(_operator(who), document_id, body.version)
    return DocumentAccepted(document_id=document_id, job_id=job.id)
