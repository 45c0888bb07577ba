"""``GET /v1/qr``: a QR code (SVG) for an http(s) URL, for kiosk screens (keyed, rate-limited, off the loop)."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ...presentation import MAX_QR_URL_CHARS, qr_url_ok
from ..deps import PrincipalDep
from ..errors import APIError
from ..qr import qr_svg
from ..schemas import ERROR_RESPONSES

router = APIRouter(tags=["chat"])


@router.get(
    "/v1/qr",
    responses={200: {"content": {"image/svg+xml": {}}}, **ERROR_RESPONSES},
    response_class=Response,
    summary="A QR code (SVG) for an http(s) URL, for kiosk screens",
)
async def qr(
    request: Request,
    _principal: PrincipalDep,
    url: str = Query(min_length=8, max_length=MAX_QR_URL_CHARS, pattern=r"^https?://"),
) -> Response:
    if not qr_url_ok(url):
        raise APIError(422, "invalid_input", "url must start with http:// or https://")
    svg = await anyio.to_thread.run_sync(qr_svg, url, limiter=request.app.state.qr_limiter)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=86400"})
