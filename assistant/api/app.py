"""The FastAPI application factory: state, middleware, error handlers, routers and the start-up lifespan.

Start-up loads the index in a worker thread (``asyncio.to_thread``) without blocking the server, so
``/healthz`` answers at once and ``/readyz`` (and chat/search) return 503 until the assistant is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
from fastapi import FastAPI

from ..config import Settings
from ..sessions import SessionStore, make_session_store
from ..speech import make_speech
from .errors import install_error_handlers
from .metrics import Metrics
from .middleware import RequestContextMiddleware
from .routes import chat, feedback, health, openai_compat, search, sessions, speech
from .security import Guard

if TYPE_CHECKING:
    from ..pipeline import Assistant

log = logging.getLogger("assistant.api")

DESCRIPTION = """政务助手 chat API: grounded answers with citations for portals, kiosks and integrators.

Every error is `{"error": {"code", "message", "request_id"}}`. When API keys are configured, send one
as `Authorization: Bearer <key>` (or `X-API-Key`).
"""


def _warm_up_in_background(app: FastAPI) -> asyncio.Task[None] | None:
    assistant = app.state.assistant
    if assistant.ready:
        return None

    async def load() -> None:
        try:
            await asyncio.to_thread(assistant.warm_up)
            log.info('{"event": "ready"}')
        except Exception as exc:  # reported by /readyz; the process stays up for /healthz
            app.state.load_error = f"{type(exc).__name__}: {exc}"
            log.error('{"event": "warm_up_failed", "error": %r}', app.state.load_error)

    return asyncio.create_task(load())


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    task = _warm_up_in_background(app)
    try:
        yield
    finally:
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        app.state.store.close()


def create_app(
    settings: Settings, assistant: Assistant | None = None, store: SessionStore | None = None
) -> FastAPI:
    """Build the app. Pass ``assistant``/``store`` to reuse ones built elsewhere (tests); else built from settings."""
    if assistant is None:
        from ..pipeline import Assistant

        assistant = Assistant.from_settings(settings)
    app = FastAPI(
        title="政务助手 API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=_lifespan,
    )
    metrics = Metrics()
    app.state.settings = settings
    app.state.assistant = assistant
    app.state.store = store if store is not None else make_session_store(settings.api)
    app.state.metrics = metrics
    app.state.guard = Guard(settings.api, on_limited=lambda scope: metrics.rate_limited.labels(scope).inc())
    app.state.load_error = ""
    app.state.speech = make_speech(settings.speech)
    app.state.answer_limiter = anyio.CapacityLimiter(answer_threads())

    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, api=settings.api, metrics=metrics)
    for module in (chat, openai_compat, search, sessions, feedback, health, speech):
        app.include_router(module.router)
    _include_web_ui(app)
    return app


def answer_threads() -> int:
    """How many answers may run in parallel: the core count, within 2..8."""
    return max(2, min(8, os.cpu_count() or 2))


def _include_web_ui(app: FastAPI) -> None:
    """Mount the portal/kiosk pages when the ``assistant.web`` package is present (the API works without it)."""
    try:
        from ..web.routes import router as web_router
    except ModuleNotFoundError as exc:
        if exc.name not in ("assistant.web", "assistant.web.routes"):
            raise
        return
    app.include_router(web_router)


def app_from_env() -> Any:
    """Factory for ``uvicorn --factory`` and multi-worker ``serve.py``: settings from ``ASSISTANT_*`` env vars.

    Worker processes start fresh, so JSON logging is set up here too (level from ``ASSISTANT_LOG_LEVEL``).
    """
    from .logging import configure_logging

    configure_logging(os.environ.get("ASSISTANT_LOG_LEVEL", "INFO").upper())
    return create_app(Settings())
