"""``GET /v1/admin/whoami``: the console's login check (which role does this key carry?)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..admin_schemas import ADMIN_ERRORS, WhoAmI
from ..deps import StaffDep

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get(
    "/whoami",
    response_model=WhoAmI,
    responses={k: ADMIN_ERRORS[k] for k in (401, 403)},
    summary="The role of the presented staff key (admin, editor or reviewer)",
)
async def whoami(request: Request, principal: StaffDep) -> WhoAmI:
    return WhoAmI(
        role=principal.role or "admin",
        key_id=principal.key_id,
        keys_configured=request.app.state.guard.keys.configured,
    )
