"""``GET /v1/qr``: a QR code (SVG) for an http(s) URL, for kiosk screens."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ..errors import APIError
from ..schemas import ERROR_RESPONSES

router = APIRouter(tags=["chat"])


@router.get(
    "/v1/qr",
    responses={200: {"content": {"image/svg+xml": {}}}, 422: ERROR_RESPONSES[422]},
    response_class=Response,
    summary="A QR code (SVG) for an http(s) URL, for kiosk screens",
)
async def qr(url: str = Query(min_length=8, max_length=1024)) -> Response:
    if not url.startswith(("http://", "https://")):
        raise APIError(422, "invalid_input", "url must start with http:// or https://")
    return Response(
        _qr_svg(url), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


@lru_cache(maxsize=256)
def _qr_svg(url: str) -> bytes:
    import io

    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", scale=4, border=2, xmldecl=False)
    return buf.getvalue()
