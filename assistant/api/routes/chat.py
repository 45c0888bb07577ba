"""``POST /v1/chat``: a question in, a ``ChatResponse`` (or Server-Sent Events, ``chat_stream``) out.

The web, kiosk and api channels share the route; the kiosk's shorter form comes from ``presentation``.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...pipeline import Assistant
from ...presentation import kiosk_fields
from ...sessions import SessionStore, history
from ...types import Answer
from ..deps import AssistantDep, MetricsDep, PrincipalDep, RequestIdDep, SettingsDep, StoreDep
from ..ownership import SessionRef, resolve_session, save_exchange
from ..schemas import ERROR_RESPONSES, ChatRequest, ChatResponse
from ._common import (
    HISTORY_EXCHANGES,
    check_question,
    exchange,
    record_answer,
    run_blocking,
    stored_channel,
)
from .chat_stream import SSE_MEDIA_TYPE, stream_chat

router = APIRouter(tags=["chat"])


@router.post(
    "/v1/chat",
    response_model=ChatResponse,
    response_model_exclude_unset=True,  # qr / full_answer only on the kiosk channel
    responses={
        **ERROR_RESPONSES,
        200: {"content": {SSE_MEDIA_TYPE: {}}, "description": "JSON, or SSE when streaming"},
        404: ERROR_RESPONSES[422] | {"description": "session_id unknown, expired or not this key's"},
    },
    summary="Ask a question; JSON answer or Server-Sent Events",
)
async def chat(
    body: ChatRequest,
    request: Request,
    assistant: AssistantDep,
    store: StoreDep,
    metrics: MetricsDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    principal: PrincipalDep,
) -> ChatResponse | Response:
    question = check_question(body.question, settings.api.max_question_chars)
    # The client gets a token; the store and the logs only ever see its hash (``sid``).
    session = await run_in_threadpool(resolve_session, store, principal, body.session_id)
    channel = stored_channel(principal, body.channel)
    if body.stream or SSE_MEDIA_TYPE in request.headers.get("accept", ""):
        return await stream_chat(
            request, assistant, store, metrics, body, question, session, request_id, channel
        )
    started = time.perf_counter()
    answer = await run_blocking(
        request, _answer_and_store, assistant, store, question, session, body.region, request_id, channel
    )
    await run_in_threadpool(  # the log line masks the question: CPU work, off the loop
        record_answer,
        metrics,
        answer,
        request_id=request_id,
        channel=body.channel,
        route="/v1/chat",
        session_id=session.sid,
    )
    server_ms = round((time.perf_counter() - started) * 1000, 3)
    return chat_response(answer, session.token, request_id, body.channel, server_ms)


def _answer_and_store(
    assistant: Assistant,
    store: SessionStore,
    question: str,
    session: SessionRef,
    region: str | None,
    rid: str,
    channel: str,
) -> Answer:
    """The blocking part of a chat turn, run in one threadpool hop: read history, answer, store the exchange."""
    # a fresh session has no history: skip the lookup
    turns = history(store, session.sid, HISTORY_EXCHANGES) if session.owner is None else []
    answer = assistant.answer(question, history=turns, region=region)
    save_exchange(store, exchange(answer, question, session.sid, rid, channel), session.owner)
    return answer


def chat_response(
    answer: Answer, session_id: str, request_id: str, channel: str, server_ms: float
) -> ChatResponse:
    """The JSON reply; on the kiosk channel the answer is shortened and QR links are added."""
    wire = answer.to_dict()
    fields = {key: wire[key] for key in ("answer", "citations", "card", "handoff", "clarify", "answered_by")}
    fields["confidence"] = wire["confidence"]
    fields["timings"] = {**wire["timings"], "server_ms": server_ms}
    if answer.intent:
        fields["intent"], fields["intent_confidence"] = answer.intent, answer.intent_confidence
    if channel == "kiosk":
        fields.update(kiosk_fields(answer))
    return ChatResponse.model_validate({**fields, "session_id": session_id, "request_id": request_id})
