"""One JSON error shape, ``{"error": {"code", "message", "request_id"}}``, for every 4xx/5xx the API returns.

Domain errors (``AssistantError``) carry their own status and code; FastAPI's validation errors
become 422 (400 for a body that is not JSON or not UTF-8); Starlette's ``HTTPException`` keeps its
status. Anything else is a bug: it is logged with its traceback and answered with a bare 500.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from ..errors import AssistantError

log = logging.getLogger("assistant.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "not_ready",
}


class APIError(StarletteHTTPException):
    """An HTTP error raised by the API layer itself, with a machine-readable code."""

    def __init__(
        self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": request_id}}


def error_response(
    status: int, code: str, message: str, request_id: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, request_id), status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "invalid_json", "request body is not valid JSON"
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {e.get('msg', 'invalid')}")
    return 422, "invalid_input", "; ".join(parts) or "invalid request"


async def _on_assistant_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AssistantError)
    status = exc.http_status
    if status >= 500:
        log.error(json.dumps({"event": "error", "request_id": request_id_of(request), "code": exc.code}))
    retry_after = exc.retry_after_s
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return error_response(status, exc.code, str(exc) or exc.code, request_id_of(request), headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    status, code, message = _validation_message(exc)
    return error_response(status, code, message, request_id_of(request))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None) or _CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, ensure_ascii=False)
    if exc.status_code == 400 and message == "There was an error parsing the body":
        code, message = "invalid_body", "request body could not be decoded (expected UTF-8 JSON)"
    headers = dict(exc.headers) if exc.headers else None
    documented = _allowed_methods(request) if exc.status_code == 405 else []
    if documented:
        # Starlette names only the first route that matched the path; list every method it serves.
        headers = {**(headers or {}), "Allow": ", ".join(documented)}
    return error_response(exc.status_code, code, message, request_id_of(request), headers)


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for the request's path (what ``Allow`` must say)."""
    path = request.url.path
    for template, operations in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path):
            return sorted(m.upper() for m in operations if m in _HTTP_METHODS)
    return []


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error (request_id=%s)", request_id_of(request))
    return error_response(500, "internal_error", "internal error", request_id_of(request))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AssistantError, _on_assistant_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
