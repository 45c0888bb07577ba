"""``POST /v1/chat`` as Server-Sent Events: the assistant's events relayed, the exchange stored afterwards."""

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
    session_id: str,
    rid: str,
) -> Response:
    turns = await run_in_threadpool(history, store, session_id, HISTORY_EXCHANGES) if body.session_id else []
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
                yield tagged(event)
        except Exception as exc:  # the status line is gone; report in-band, as the protocol says
            if not isinstance(exc, AssistantError):
                log.exception("stream failed (request_id=%s)", rid)
            yield ServerSentEvent(json.dumps(error_event_data(exc, rid), ensure_ascii=False), event="error")
            return
        answer = events.answer
        await run_in_threadpool(store.append, exchange(answer, question, session_id, rid))
        record_answer(
            metrics, answer, request_id=rid, channel=body.channel, route="/v1/chat", session_id=session_id
        )

    return EventSourceResponse(
        sse(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}, ping=15
    )
