"""One pure-ASGI middleware for every HTTP request: request id, body size and time limits, metrics, access log.

Pure ASGI (not ``BaseHTTPMiddleware``) keeps the per-request cost to a few microseconds and leaves
streamed responses untouched. Errors raised here (413, 408) are written directly in the API's JSON
error shape, since exception handlers only see errors raised inside the app. A body must arrive
within ``api.body_timeout_s`` (slow-body clients would otherwise hold connections indefinitely).
CORS and security headers live in ``headers.py``.
"""

from __future__ import annotations

import re
import time
import uuid

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import APISettings
from .errors import error_response
from .logging import log_event
from .metrics import Metrics
from .security import KeyRing

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
UPLOAD_PATH = "/v1/admin/documents"


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        api: APISettings,
        metrics: Metrics,
        upload_limit: int = 0,
        keys: KeyRing | None = None,
    ) -> None:
        self.app = app
        self.api = api
        self.metrics = metrics
        self.upload_limit = upload_limit  # console file uploads by admin / editor keys
        self.keys = keys

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
        status_box = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                raw = list(message.get("headers", []))
                raw.append((b"x-request-id", (correlation or rid).encode()))
                message = {**message, "headers": raw}
            await send(message)

        method = scope["method"]
        try:
            if method in _BODY_METHODS:
                replay = None
                with anyio.move_on_after(self.api.body_timeout_s) as reading:
                    replay = await self._read_body(headers, receive, self._body_limit(scope, headers))
                if reading.cancelled_caught:
                    response = error_response(
                        408,
                        "request_timeout",
                        f"request body not received within {self.api.body_timeout_s:g} s",
                        rid,
                        {"Connection": "close"},
                    )
                    await response(scope, receive, send_wrapper)
                elif replay is None:
                    limit = self._body_limit(scope, headers)
                    response = error_response(
                        413, "payload_too_large", f"request body exceeds {limit} bytes", rid
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

    def _body_limit(self, scope: Scope, headers: dict[str, str]) -> int:
        """``api.max_body_bytes``, except document uploads by a key that may upload (or without keys)."""
        if self.keys is None or not self.upload_limit or scope["method"] not in ("POST", "PUT"):
            return self.api.max_body_bytes
        if not str(scope.get("path", "")).startswith(UPLOAD_PATH):
            return self.api.max_body_bytes
        auth = headers.get("authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else headers.get("x-api-key", "")
        principal = self.keys.identify(key or None)
        if principal is None or not principal.has_role("editor"):
            return self.api.max_body_bytes
        return max(self.upload_limit, self.api.max_body_bytes)

    async def _read_body(self, headers: dict[str, str], receive: Receive, limit: int) -> Receive | None:
        """Read the whole body (small by contract, uploads excepted); None when it exceeds ``limit``."""
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
