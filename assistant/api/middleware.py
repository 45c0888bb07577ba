"""One pure-ASGI middleware for every HTTP request: request id, body-size limit, CORS, metrics, access log.

Pure ASGI (not ``BaseHTTPMiddleware``) keeps the per-request cost to a few microseconds and leaves
streamed responses untouched. Errors raised here (413, refused pre-flight) are written directly in
the API's JSON error shape, since exception handlers only see errors raised inside the app.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import APISettings
from .errors import error_response
from .logging import log_event
from .metrics import Metrics
from .security import origin_allowed

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_ALLOW_HEADERS = "Authorization, X-API-Key, Content-Type, X-Request-ID, Accept"
_EXPOSE_HEADERS = "X-Request-ID, Retry-After"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, api: APISettings, metrics: Metrics) -> None:
        self.app = app
        self.api = api
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        # The server owns request ids (they key stored exchanges); a client's X-Request-ID is only
        # a correlation id: echoed in the response header and logged, never stored or trusted.
        rid = uuid.uuid4().hex
        correlation = headers.get("x-request-id", "")
        if not _REQUEST_ID.match(correlation):
            correlation = ""
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        origin = headers.get("origin")
        cors_ok = origin is not None and origin_allowed(
            origin, self.api.allowed_origins, scope.get("scheme", "http"), headers.get("host", "")
        )
        status_box = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                raw = list(message.get("headers", []))
                raw.append((b"x-request-id", (correlation or rid).encode()))
                if cors_ok and origin is not None:
                    raw += _cors_headers(origin)
                message = {**message, "headers": raw}
            await send(message)

        method = scope["method"]
        try:
            if method == "OPTIONS" and origin is not None and "access-control-request-method" in headers:
                await self._preflight(scope, receive, send_wrapper, cors_ok, rid)
            elif method in _BODY_METHODS:
                replay = await self._read_body(headers, receive)
                if replay is None:
                    response = error_response(
                        413, "payload_too_large", f"request body exceeds {self.api.max_body_bytes} bytes", rid
                    )
                    await response(scope, receive, send_wrapper)
                else:
                    await self.app(scope, replay, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(path, method, status_box[0], elapsed)
            log_event(
                "request",
                request_id=rid,
                correlation_id=correlation or None,
                method=method,
                route=path,
                status=status_box[0],
                ms=round(elapsed * 1000, 2),
            )

    async def _preflight(self, scope: Scope, receive: Receive, send: Send, allowed: bool, rid: str) -> None:
        response: Response
        if not allowed:
            response = error_response(403, "origin_not_allowed", "origin is not allowed", rid)
        else:
            response = Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                    "Access-Control-Allow-Headers": _ALLOW_HEADERS,
                    "Access-Control-Max-Age": "600",
                },
            )
        await response(scope, receive, send)

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> Receive | None:
        """Read the whole body (it is small by contract); None when it exceeds the limit."""
        limit = self.api.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # Client went away: hand the disconnect on to the app.
                return _replay(b"".join(chunks), receive, first=message)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return _replay(b"".join(chunks), receive)


def _replay(body: bytes, receive: Receive, first: Message | None = None) -> Receive:
    sent = [False]

    async def replay() -> Message:
        if not sent[0]:
            sent[0] = True
            return first or {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in scope.get("headers", []):
        out[k.decode("latin-1")] = v.decode("latin-1")
    return out


def _cors_headers(origin: str) -> list[Any]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", _EXPOSE_HEADERS.encode()),
        (b"vary", b"Origin"),
    ]
