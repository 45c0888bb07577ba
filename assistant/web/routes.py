"""Serves the demo portal, the kiosk page and the widget's static assets (no build step, no CDN).

Pages are plain HTML files in ``static/``. The demo portal gets the first configured *widget* key
(public by design: it sits in every portal page) and the default region filled in per request. The
kiosk page gets no key: a kiosk is provisioned once (``/kiosk?key=DEVICE_KEY``, kept in the
device's localStorage), so nobody can fetch a kiosk's secret from the server.

Assets under ``/widget`` are Starlette ``StaticFiles`` (ETag / Last-Modified, 304, HEAD, 404 for
anything outside the folder or unreadable). Every page carries a CSP without inline script; the
widget's iframe (``panel.html``) may only be framed by the allow-listed portal origins.

The operator console lives in ``static/admin/``: ``/admin/<name>`` serves ``admin/<name>.html``
(any page a file exists for, so console pages are added by adding files) and ``/admin/assets/`` its
CSS/JS. Console pages are never framable and carry no key: the operator logs in in the page.
"""

from __future__ import annotations

import html
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ..api.headers import frame_ancestors, page_csp

STATIC_DIR = Path(__file__).parent / "static"
ADMIN_DIR = STATIC_DIR / "admin"
_ADMIN_PAGE = re.compile(r"[a-z][a-z0-9-]{0,40}")

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=8)
def _read(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def _settings_value(request: Request | Scope, *names: str) -> Any:
    """Walk ``app.state.settings`` attribute by attribute; None when absent (e.g. no settings)."""
    app = request.app if isinstance(request, Request) else request.get("app")
    value: Any = getattr(getattr(app, "state", None), "settings", None)
    for name in names:
        value = getattr(value, name, None)
    return value


def _page(name: str, key: str = "") -> HTMLResponse:
    text = _read(name).replace("{{API_KEY}}", html.escape(key, quote=True))
    return HTMLResponse(text, headers={"Cache-Control": "no-cache", "Content-Security-Policy": page_csp()})


def _widget_key(request: Request) -> str:
    keys = _settings_value(request, "api", "widget_keys") or []
    return str(keys[0]) if keys else ""


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def demo_portal(request: Request) -> HTMLResponse:
    """A mock government service portal with the widget embedded by one script tag."""
    return _page("demo.html", _widget_key(request))


@router.api_route("/demo", methods=["GET", "HEAD"], response_class=HTMLResponse)
def demo_portal_alias(request: Request) -> HTMLResponse:
    return _page("demo.html", _widget_key(request))


@router.api_route("/kiosk", methods=["GET", "HEAD"], response_class=HTMLResponse)
def kiosk() -> HTMLResponse:
    """Full-screen, touch-first page for service-hall kiosks (its device key comes from the device)."""
    return _page("kiosk.html")


@router.api_route("/admin", methods=["GET", "HEAD"], response_class=RedirectResponse)
def admin_home() -> RedirectResponse:
    """The console opens on its 文档 page."""
    return RedirectResponse("/admin/documents", status_code=307)


@router.api_route("/admin/{name}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def admin_page(name: str) -> HTMLResponse:
    """A console page: ``static/admin/<name>.html`` (404 for any other name)."""
    if not _ADMIN_PAGE.fullmatch(name) or not (ADMIN_DIR / f"{name}.html").is_file():
        raise HTTPException(status_code=404)
    return _page(f"admin/{name}.html")


class WidgetFiles(StaticFiles):
    """``StaticFiles`` for the widget: revalidated caching, ``embed.js`` loadable cross-origin, and
    ``panel.html`` framable only by allow-listed origins."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.split("/", 1)[0] == "admin":
            raise HTTPException(status_code=404)  # console files are served under /admin only
        try:
            response = await super().get_response(path, scope)
        except OSError:  # odd names the OS refuses (beyond the too-long ones Starlette handles)
            raise HTTPException(status_code=404) from None
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = "no-cache"
            name = os.path.basename(path)
            if name == "embed.js":
                # Host portals on other origins load the loader script; it only ever runs in their page.
                response.headers["Access-Control-Allow-Origin"] = "*"
            elif name.endswith(".html"):
                allowed = _settings_value(scope, "api", "allowed_origins") or []
                response.headers["Content-Security-Policy"] = page_csp(frame_ancestors(list(allowed)))
        return response


def install(app: FastAPI) -> None:
    """Add the pages and mount the widget assets on ``app``."""
    app.include_router(router)
    app.mount("/widget", WidgetFiles(directory=str(STATIC_DIR)), name="widget")
    app.mount("/admin/assets", AdminFiles(directory=str(ADMIN_DIR)), name="admin-assets")


class AdminFiles(StaticFiles):
    """The console's CSS/JS: revalidated caching; HTML pages are only served through ``admin_page``."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.endswith(".html"):
            raise HTTPException(status_code=404)
        try:
            response = await super().get_response(path, scope)
        except OSError:
            raise HTTPException(status_code=404) from None
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = "no-cache"
        return response
