"""``POST /v1/chat`` as Server-Sent Events: the assistant's events relayed, the exchange stored before ``done``."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ...errors import AssistantError
from ...pipeline import Assistant
from ...sessions import SessionStore, history
from ...types import Event
from ..metrics import Metrics
from ..ownership import SessionRef, save_exchange
from ..schemas import ChatRequest
from ._common import HISTORY_EXCHANGES, error_event_data, exchange, record_answer, run_blocking

log = logging.getLogger("assistant.api")
SSE_MEDIA_TYPE = "text/event-stream"


async def stream_chat(
    request: Request,
    assistant: Assistant,
    store: SessionStore,
    metrics: Metrics,
    body: ChatRequest,
    question: str,
    session: SessionRef,
    rid: str,
    stored_as: str = "",
) -> Response:
    session_id = session.token  # what the client holds; the store and the logs see ``session.sid``
    fresh = session.owner is not None  # a new session has no history: skip the lookup
    turns = [] if fresh else await run_in_threadpool(history, store, session.sid, HISTORY_EXCHANGES)
    events = assistant.stream(question, history=turns, region=body.region)
    # Pull the first event before answering 200, so invalid input still gets a plain 4xx.
    first = await run_blocking(request, next, events, None)

    def tagged(event: Event) -> ServerSentEvent:
        data = event.data
        if event.type in ("meta", "done"):
            data = {**data, "session_id": session_id, "request_id": rid}
        return ServerSentEvent(json.dumps(data, ensure_ascii=False), event=event.type)

    async def sse() -> AsyncIterator[ServerSentEvent]:
        try:
            if first is not None:
                yield tagged(first)
            async for event in iterate_in_threadpool(events):
                if event.type == "done":  # stored before ``done``: a client that saw it can follow up
                    record = exchange(events.answer, question, session.sid, rid, stored_as)
                    await run_in_threadpool(save_exchange, store, record, session.owner)
                yield tagged(event)
        except Exception as exc:  # the status line is gone; report in-band, as the protocol says
            if not isinstance(exc, AssistantError):
                log.exception("stream failed (request_id=%s)", rid)
            elif exc.http_status >= 500:  # e.g. storage failed: one line, no traceback
                log.error(json.dumps({"event": "error", "request_id": rid, "code": exc.code}))
            yield ServerSentEvent(json.dumps(error_event_data(exc, rid), ensure_ascii=False), event="error")
            return
        await run_in_threadpool(  # the log line masks the question: CPU work, off the loop
            record_answer,
            metrics,
            events.answer,
            request_id=rid,
            channel=body.channel,
            route="/v1/chat",
            session_id=session.sid,
        )

    return EventSourceResponse(
        sse(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}, ping=15
    )
