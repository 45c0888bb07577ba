"""Serves the demo portal, the kiosk page and the widget's static assets (no build step, no CDN).

Pages are plain HTML files in ``static/`` with two placeholders filled per request: the API key a
page should send (the first configured widget or kiosk key, if any) and the default region. Assets
are read once and served with an ETag so portals can cache them.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


@lru_cache(maxsize=64)
def _read(name: str) -> bytes:
    """Bytes of a static file; raises 404 for anything outside ``static/``."""
    path = (STATIC_DIR / name).resolve()
    if STATIC_DIR.resolve() not in path.parents or not path.is_file():
        raise HTTPException(status_code=404, detail="not found")
    return path.read_bytes()


def _settings_value(request: Request, *names: str) -> Any:
    """Walk ``app.state.settings`` attribute by attribute; None when absent (e.g. no settings)."""
    value: Any = getattr(request.app.state, "settings", None)
    for name in names:
        value = getattr(value, name, None)
    return value


def _first_key(request: Request, group: str) -> str:
    keys = _settings_value(request, "api", group) or []
    return str(keys[0]) if keys else ""


def _page(name: str, request: Request, key_group: str) -> HTMLResponse:
    text = _read(name).decode("utf-8")
    text = text.replace("{{API_KEY}}", html.escape(_first_key(request, key_group), quote=True))
    return HTMLResponse(text, headers={"Cache-Control": "no-cache"})


@router.get("/", response_class=HTMLResponse)
def demo_portal(request: Request) -> HTMLResponse:
    """A mock government service portal with the widget embedded by one script tag."""
    return _page("demo.html", request, "widget_keys")


@router.get("/demo", response_class=HTMLResponse)
def demo_portal_alias(request: Request) -> HTMLResponse:
    return _page("demo.html", request, "widget_keys")


@router.get("/kiosk", response_class=HTMLResponse)
def kiosk(request: Request) -> HTMLResponse:
    """Full-screen, touch-first page for service-hall kiosks."""
    return _page("kiosk.html", request, "kiosk_keys")


@router.get("/widget/{name:path}")
def widget_asset(name: str, request: Request) -> Response:
    """``embed.js``, ``panel.html`` (the iframe) and the CSS/JS they load."""
    body = _read(name)
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    suffix = Path(name).suffix
    media = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if name == "embed.js":
        # Host portals on other origins load the loader script; it only ever runs in their page.
        headers["Access-Control-Allow-Origin"] = "*"
    return Response(body, media_type=media, headers=headers)
