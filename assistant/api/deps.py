"""``Annotated`` dependency aliases, so routes read as plain signatures (all async: no threadpool hop)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from ..config import Settings
from ..sessions import SessionStore
from .errors import APIError
from .metrics import Metrics
from .security import Principal, Role

if TYPE_CHECKING:
    from ..pipeline import Assistant
    from ..storage import Database
else:
    Assistant = Any
    Database = Any


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_assistant(request: Request) -> Assistant:
    """The assistant, once its index is loaded; 503 before (or when loading failed)."""
    assistant = request.app.state.assistant
    if not assistant.ready:
        error = request.app.state.load_error
        message = (
            f"the assistant is not ready: {error}" if error else "the assistant is still loading its index"
        )
        raise APIError(503, "not_ready", message, headers={"Retry-After": "5"})
    return assistant


async def get_store(request: Request) -> SessionStore:
    return request.app.state.store  # type: ignore[no-any-return]


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


async def get_request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


async def get_principal(request: Request) -> Principal:
    return await request.app.state.guard(request)  # type: ignore[no-any-return]


async def get_admin(request: Request) -> Principal:
    return request.app.state.guard.require_admin(request)  # type: ignore[no-any-return]


def require_role(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting staff keys with one of ``roles`` (admin is always admitted): 401/403 otherwise."""

    async def check(request: Request) -> Principal:
        return request.app.state.guard.require_role(request, *roles)  # type: ignore[no-any-return]

    return check


SettingsDep = Annotated[Settings, Depends(get_settings)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
StoreDep = Annotated[SessionStore, Depends(get_store)]
DatabaseDep = Annotated[Database, Depends(get_db)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AdminDep = Annotated[Principal, Depends(get_admin)]
# console / ``/v1/admin`` roles (admin ⊇ editor, reviewer)
AdminRoleDep = Annotated[Principal, Depends(require_role("admin"))]
EditorDep = Annotated[Principal, Depends(require_role("editor"))]
ReviewerDep = Annotated[Principal, Depends(require_role("reviewer"))]
StaffDep = Annotated[Principal, Depends(require_role("editor", "reviewer"))]  # read-only knowledge
