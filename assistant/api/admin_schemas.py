"""Wire models of the operator API (``/v1/admin/...``): documents, jobs, index generations, roles."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .schemas import ErrorResponse

RoleName = Literal["admin", "editor", "reviewer"]

# Error statuses the role-checked routes add to the documented ones.
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in (
        (401, "missing or invalid staff key"),
        (403, "the key's role may not do this (or origin not allowed)"),
        (404, "no such document, job, version or generation"),
        (409, "conflict with the current state (e.g. the document already has a file)"),
        (413, "body too large (uploads: admin.max_upload_bytes)"),
        (422, "invalid input"),
        (503, "the index is still loading (see Retry-After)"),
    )
}


def admin_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {k: ADMIN_ERRORS[k] for k in codes}


class WhoAmI(BaseModel):
    """The caller's console role."""

    role: RoleName
    key_id: str = Field("", description="short hash of the key (never the key itself); empty without keys")
    keys_configured: bool = Field(description="false when the server runs without keys (everyone is admin)")


StatusName = Literal["现行有效", "已修订", "已废止"]
DocTypeName = Literal["guide", "policy", "law", "faq", "page"]
# yyyy-mm-dd (or empty: no date); impossible days such as 02-31 are still refused (422)
DATE_PATTERN = r"^(|\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))$"
# the overlay's document id rule (ingest/overlay.py), or empty: the server picks one
DOCUMENT_ID_PATTERN = r"^([A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9_.\u4e00-\u9fff-]{0,119})?$"


class DocumentOut(BaseModel):
    """One indexed document's metadata (as the current index generation holds it)."""

    id: str
    title: str = ""
    type: str = ""
    source: str = ""
    department: str = ""
    region: str = ""
    doc_number: str = Field("", description="文号")
    issuer: str = ""
    publish_date: str = ""
    effective_date: str = ""
    expiry_date: str = ""
    status: str = ""
    url: str = ""
    aliases: list[str] = []
    chunks: int = 0
    in_force: bool = Field(description="in force today by the validity rule (status and dates)")
    uploaded: bool = Field(False, description="its file was uploaded through the console")
    overridden: bool = Field(False, description="an operator changed its metadata")


class DocumentList(BaseModel):
    items: list[DocumentOut]
    total: int
    offset: int
    limit: int
    generation: str | None = Field(description="the index generation listed")


class ChunkOut(BaseModel):
    id: str
    section: str = ""
    kind: str = ""
    text: str


class DocumentDetail(BaseModel):
    document: DocumentOut
    chunks: list[ChunkOut]
    override: dict[str, Any] = Field(description="the operator's metadata overrides")
    upload: dict[str, Any] | None = Field(description="the uploaded file (name, sha256, bytes), if any")


class DocumentAccepted(BaseModel):
    """A change was recorded; ``job_id`` applies it to the index (poll ``/v1/admin/jobs/{job_id}``)."""

    document_id: str
    job_id: str


class DocumentChanged(BaseModel):
    document_id: str
    job_id: str | None = Field(description="the re-indexing job; null when the index already says this")


class MetadataPatch(BaseModel):
    """Metadata to override; a field set to null drops its override (the file's value counts again)."""

    model_config = {"extra": "forbid"}

    title: str | None = Field(None, max_length=200)
    type: DocTypeName | None = Field(None, description="guide | policy | law | faq | page")
    status: StatusName | None = None
    effective_date: str | None = Field(None, pattern=DATE_PATTERN, description="yyyy-mm-dd, or empty")
    expiry_date: str | None = Field(None, pattern=DATE_PATTERN, description="yyyy-mm-dd, or empty")
    region: str | None = Field(None, max_length=100)
    department: str | None = Field(None, max_length=200)
    doc_number: str | None = Field(None, max_length=100, description="文号")
    aliases: list[str] | None = Field(None, max_length=50, description="俗称 / 简称")


class VersionOut(BaseModel):
    version: int
    action: str = Field(description="upload | replace | update | delete | restore")
    actor: str
    at: float = Field(description="Unix time")
    filename: str = ""
    sha256: str = ""
    changes: dict[str, list[Any]] = Field(description="{field: [before, after]}")
    restored_version: int | None = None


class VersionList(BaseModel):
    document_id: str
    items: list[VersionOut]


class RestoreRequest(BaseModel):
    version: int = Field(ge=1)


class JobOut(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1)
    message: str = ""
    actor: str = ""
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] = {}


class JobList(BaseModel):
    items: list[JobOut]


class GenerationOut(BaseModel):
    name: str
    created_at: str
    documents: int
    chunks: int
    embedder: str
    current: bool = Field(description="CURRENT points at it (serving processes switch within about a second)")


class GenerationList(BaseModel):
    items: list[GenerationOut]
    serving: str | None = Field(description="the generation this server process answers from")


class RollbackRequest(BaseModel):
    generation: str = Field(min_length=1, max_length=100)


class RollbackResult(BaseModel):
    generation: GenerationOut
    serving: str | None


class AlertItem(BaseModel):
    id: str
    title: str = ""
    department: str = ""
    expiry_date: str = ""


class AlertsOut(BaseModel):
    today: str
    expiring: list[AlertItem] = Field(description="现行有效 documents whose expiry date is within warn_days")
    expired_in_force: list[AlertItem] = Field(description="expired but still marked 现行有效")
    uncited: list[AlertItem] = Field(description="in force, not cited by any answer in uncited_days")
    uncited_available: bool = Field(description="false when no stored exchanges can be counted")
    warn_days: int
    uncited_days: int
