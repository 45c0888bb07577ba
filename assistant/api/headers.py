"""Response headers every page and API answer gets: CORS (Starlette's ``CORSMiddleware``) and security headers.

CORS is Starlette's, configured from ``api.allowed_origins``; the only change is that a refused
pre-flight answers in the API's JSON error shape (403) instead of Starlette's plain-text 400. Keys
travel in headers, not cookies, so credentials are never allowed cross-origin.

``SecurityHeadersMiddleware`` adds ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy`` to
every response, and a locked-down ``Content-Security-Policy`` (no scripts, no framing) to any
response that does not set its own — pages (``web/routes.py``) and ``/docs`` set theirs.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

ALLOW_HEADERS = ["Authorization", "X-API-Key", "Content-Type", "X-Request-ID", "Accept"]
EXPOSE_HEADERS = ["X-Request-ID", "Retry-After", "X-AI-Generated", "AIGC"]
ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
REFERRER_POLICY = "strict-origin-when-cross-origin"


class APICORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with refused pre-flights as ``403 {"error": {...}}``."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        super().__init__(
            app,
            allow_origins=allowed_origins,
            allow_methods=ALLOW_METHODS,
            allow_headers=ALLOW_HEADERS,
            expose_headers=EXPOSE_HEADERS,
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                rid = str(scope.get("state", {}).get("request_id", ""))
                await self._preflight(headers, rid)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _preflight(self, request_headers: Headers, request_id: str) -> Response:
        response = self.preflight_response(request_headers)
        if response.status_code == 200:
            return Response(status_code=204, headers=dict(response.headers))
        origin_refused = not self.is_allowed_origin(request_headers.get("origin", ""))
        code = "origin_not_allowed" if origin_refused else "cors_refused"
        message = "origin is not allowed" if origin_refused else bytes(response.body).decode()
        return error_response(403, code, message, request_id, {"Vary": "Origin"})


def frame_ancestors(allowed_origins: list[str]) -> str:
    """The ``frame-ancestors`` source list for pages that may be framed by allow-listed portals."""
    if "*" in allowed_origins:
        return "*"
    return " ".join(["'self'", *[o for o in allowed_origins if o.startswith(("http://", "https://"))]])


def page_csp(frame_sources: str = "'none'") -> str:
    """CSP for our own HTML pages: scripts and connections from this origin only, no inline script.

    Inline *styles* are allowed: the widget loader injects its button's stylesheet into the host page.
    """
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:;"
        # media-src blob: read-aloud plays the server's audio (fetched with the API key) from a blob URL
        " media-src 'self' blob:; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none';"
        " form-action 'self';"
        f" frame-ancestors {frame_sources}"
    )


class SecurityHeadersMiddleware:
    """Pure ASGI: nosniff, Referrer-Policy, and the API's CSP unless the response brought its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", REFERRER_POLICY)
                headers.setdefault("Content-Security-Policy", API_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)
