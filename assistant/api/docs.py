"""``/docs``: Swagger UI served from this server (the ``swagger-ui-bundle-v2`` wheel), so it works offline.

FastAPI's own ``/docs`` and ``/redoc`` load their scripts from a CDN, which intranet kiosks and
offline deployments cannot reach; they are switched off in ``app.py`` and replaced by this page.
The initialiser is a static script (no inline JavaScript), so the page keeps a strict CSP.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from .headers import page_csp

log = logging.getLogger("assistant.api")

ASSETS = "/docs/assets"

_PAGE = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>政务助手 API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
"""


def install_docs(app: FastAPI) -> None:
    """Mount the Swagger UI assets and add ``/docs`` (GET and HEAD) and its initialiser."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ModuleNotFoundError:
        log.warning('{"event": "docs_disabled", "reason": "swagger-ui-bundle-v2 is not installed"}')
        return
    headers = {"Content-Security-Policy": page_csp(), "Cache-Control": "no-cache"}

    async def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE, headers=headers)

    async def init() -> Response:
        return Response(
            _INIT, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )

    app.add_api_route("/docs", docs, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route("/docs/init.js", init, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
