"""The FastAPI application factory: state, middleware, error handlers, routers and the start-up lifespan.

Start-up loads the index in a worker thread (``asyncio.to_thread``) without blocking the server, so
``/healthz`` answers at once and ``/readyz`` (and chat/search) return 503 until the assistant is ready.
Building the app opens the state database (``assistant.storage``), upgrading its schema first; the
lifespan also runs the retention purge every ``retention.interval_minutes`` (one replica at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from ..admin.citations import citation_counts
from ..admin.services import build_admin
from ..config import Settings
from ..errors import ConfigError
from ..notify import make_notifier
from ..sessions import SessionStore
from ..speech import make_speech
from ..storage import Database
from .docs import install_docs
from .errors import install_error_handlers
from .headers import APICORSMiddleware, SecurityHeadersMiddleware
from .index_events import index_changed, make_index_watcher
from .metrics import Metrics
from .middleware import RequestContextMiddleware
from .openapi import install_openapi
from .routes import (
    admin_audit,
    admin_curated,
    admin_documents,
    admin_index,
    admin_me,
    admin_review,
    admin_screening,
    chat,
    feedback,
    health,
    openai_compat,
    qr,
    reports,
    search,
    sessions,
    speech,
)
from .security import Guard

if TYPE_CHECKING:
    from ..pipeline import Assistant

log = logging.getLogger("assistant.api")

DESCRIPTION = """政务助手 chat API: grounded answers with citations for portals, kiosks and integrators.

Every error is `{"error": {"code", "message", "request_id"}}`. When API keys are configured, send one
as `Authorization: Bearer <key>` (or `X-API-Key`).

`session_id` is a token the server issues with the first answer; it only works with the key that
started the session (unknown, expired or foreign sessions are 404). `request_id` is the server's id
of an answer (rate it with `/v1/feedback`); a client's `X-Request-ID` is echoed back as a
correlation id only.
"""


def _warm_up_in_background(app: FastAPI) -> asyncio.Task[None] | None:
    assistant = app.state.assistant
    if assistant.ready:
        app.state.index_watcher.start()
        return None

    async def load() -> None:
        try:
            await asyncio.to_thread(assistant.warm_up)
            log.info('{"event": "ready"}')
        except Exception as exc:  # reported by /readyz; the process stays up for /healthz
            app.state.load_error = f"{type(exc).__name__}: {exc}"
            log.error('{"event": "warm_up_failed", "error": %r}', app.state.load_error)
            return
        app.state.index_watcher.start()  # each process follows the index pointer (admin rollback, ingest jobs)

    return asyncio.create_task(load())


RETENTION_FIRST_RUN_S = 60.0  # the first purge attempt this long after start (then every interval)


def _retention_in_background(app: FastAPI) -> asyncio.Task[None] | None:
    """Every ``retention.interval_minutes``, purge records past ``retention.days`` (one replica at a time)."""
    from ..storage.retention import run_once

    retention = app.state.settings.retention
    if retention.interval_minutes <= 0:
        return None
    interval = retention.interval_minutes * 60.0

    async def loop() -> None:
        await asyncio.sleep(min(RETENTION_FIRST_RUN_S, interval))
        while True:
            try:
                counts = await asyncio.to_thread(run_once, app.state.db, retention)
                if counts is not None:
                    log.info('{"event": "retention_purge", "counts": %s}', json.dumps(counts))
            except Exception as exc:  # a failed purge is retried next interval; the server stays up
                log.error('{"event": "retention_purge_failed", "error": %r}', f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(interval)

    return asyncio.create_task(loop())


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    tasks = [t for t in (_warm_up_in_background(app), _retention_in_background(app)) if t is not None]
    try:
        yield
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        app.state.index_watcher.stop()
        await asyncio.to_thread(app.state.admin.close)
        app.state.store.close()
        if app.state.owns_db:
            app.state.db.close()


def create_app(
    settings: Settings,
    assistant: Assistant | None = None,
    store: SessionStore | None = None,
    db: Database | None = None,
) -> FastAPI:
    """Build the app. Pass ``assistant``/``store``/``db`` to reuse ones built elsewhere (tests); else built
    from settings. Opening the database upgrades its schema (an empty one needs no extra step)."""
    if assistant is None:
        from ..pipeline import Assistant

        assistant = Assistant.from_settings(settings)
    owns_db = db is None
    if db is None:
        db = Database.from_settings(settings)
    app = FastAPI(
        title="政务助手 API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=_lifespan,
        docs_url=None,  # replaced by install_docs: FastAPI's pages load Swagger UI from a CDN
        redoc_url=None,
    )
    metrics = Metrics()
    app.state.settings = settings
    app.state.assistant = assistant
    app.state.db = db
    app.state.owns_db = owns_db  # closed with the app unless the caller passed it in
    app.state.store = store if store is not None else db.sessions
    _use_curated(app, assistant, db, settings)
    app.state.metrics = metrics
    app.state.guard = Guard(
        settings.api,
        on_limited=lambda scope: metrics.rate_limited.labels(scope).inc(),
        redis_url=settings.redis_url,
        on_storage_error=metrics.rate_limit_storage_errors.inc,
    )
    app.state.load_error = ""
    app.state.notifier = make_notifier(settings)  # tells every process about a new index generation
    app.state.speech = make_speech(settings.speech)
    app.state.answer_limiter = anyio.CapacityLimiter(answer_threads())
    app.state.qr_limiter = anyio.CapacityLimiter(1)  # QR codes are pure Python: one core at most
    app.state.admin = build_admin(
        settings,
        on_index_written=lambda: index_changed(app),
        jobs=db.jobs,
        versions=db.documents,
        audit=db.audit,
        citations=lambda since: citation_counts(db, since),
    )
    app.state.index_watcher = make_index_watcher(app)

    install_error_handlers(app)
    # Added innermost first; requests pass proxy headers → security headers → request context → CORS.
    app.add_middleware(APICORSMiddleware, allowed_origins=settings.api.allowed_origins)
    app.add_middleware(
        RequestContextMiddleware,
        api=settings.api,
        metrics=metrics,
        upload_limit=settings.admin.max_upload_bytes,
        keys=app.state.guard.keys,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.api.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.api.trusted_proxies)
    for module in (chat, qr, openai_compat, search, sessions, feedback, reports, health, speech, admin_me):
        app.include_router(module.router)
    for module in (admin_documents, admin_index):  # the console's knowledge side
        app.include_router(module.router)
    for module in (admin_curated, admin_review, admin_audit):  # the console's review side
        app.include_router(module.router)
    app.include_router(admin_screening.router)  # the console's 安全词库
    install_docs(app)
    install_openapi(app, settings.api)
    _include_web_ui(app)
    return app


def _use_curated(app: FastAPI, assistant: Assistant, db: Database, settings: Settings) -> None:
    """Curated answers come from the database; insights embed questions with the assistant's embedder."""
    from ..curated.db_source import DatabaseCuratedSource
    from ..review.insights import QuestionVectors

    app.state.curated_source = DatabaseCuratedSource(db, settings.curated.check_s)
    assistant.use_curated_source(app.state.curated_source)
    embedder = assistant.embedder
    app.state.question_vectors = QuestionVectors(
        embedder.embed_query if embedder is not None else _no_embedder
    )


def _no_embedder(text: str) -> Any:
    raise ConfigError("this assistant has no embedder to group questions by topic")


def answer_threads() -> int:
    """How many answers may run in parallel: the core count, within 2..8."""
    return max(2, min(8, os.cpu_count() or 2))


def _include_web_ui(app: FastAPI) -> None:
    """Mount the portal/kiosk pages when the ``assistant.web`` package is present (the API works without it)."""
    try:
        from ..web.routes import install
    except ModuleNotFoundError as exc:
        if exc.name not in ("assistant.web", "assistant.web.routes"):
            raise
        return
    install(app)


def app_from_env() -> Any:
    """Factory for ``uvicorn --factory`` and multi-worker ``serve.py``: settings from ``ASSISTANT_*`` env vars.

    Worker processes start fresh, so JSON logging is set up here too (level from ``ASSISTANT_LOG_LEVEL``).
    """
    from .logging import configure_logging

    configure_logging(os.environ.get("ASSISTANT_LOG_LEVEL", "INFO").upper())
    return create_app(Settings())
