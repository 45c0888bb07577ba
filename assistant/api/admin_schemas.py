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
        (422, "invalid input"),
    )
}


class WhoAmI(BaseModel):
    """The caller's console role."""

    role: RoleName
    key_id: str = Field("", description="short hash of the key (never the key itself); empty without keys")
    keys_configured: bool = Field(description="false when the server runs without keys (everyone is admin)")
