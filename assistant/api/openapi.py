"""The OpenAPI document, made true to the running configuration.

Pydantic models carry fixed limits, but some limits are settings: the question length
(``api.max_question_chars``) is checked in the route, so the document is patched to state the
configured maximum for ``POST /v1/chat`` ``question`` and ``GET /v1/search`` ``q``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ..config import APISettings


def install_openapi(app: FastAPI, api: APISettings) -> None:
    """Replace ``app.openapi`` with a cached generator that applies the configured limits."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            _apply_limits(schema, api)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _apply_limits(schema: dict[str, Any], api: APISettings) -> None:
    limit = api.max_question_chars
    question = schema["components"]["schemas"]["ChatRequest"]["properties"]["question"]
    question["maxLength"] = limit
    question["description"] = f"the question, ≤ {limit:,} characters (not blank)"
    search = schema["paths"]["/v1/search"]["get"]
    for param in search.get("parameters", []):
        if param["name"] == "q":
            param["schema"]["maxLength"] = limit
            param["description"] = f"query, ≤ {limit:,} characters (not blank)"
