"""``POST /v1/chat``: a question in, a ``ChatResponse`` (or Server-Sent Events, ``chat_stream``) out.

The web, kiosk and api channels share the route; the kiosk's shorter form comes from ``presentation``.
"""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...pipeline import Assistant
from ...presentation import kiosk_fields
from ...sessions import SessionStore, history
from ...types import Answer
from ..deps import AssistantDep, MetricsDep, PrincipalDep, RequestIdDep, SettingsDep, StoreDep
from ..schemas import ERROR_RESPONSES, ChatRequest, ChatResponse
from ._common import HISTORY_EXCHANGES, check_question, exchange, record_answer, run_blocking
from .chat_stream import SSE_MEDIA_TYPE, stream_chat

router = APIRouter(tags=["chat"])


@router.post(
    "/v1/chat",
    response_model=ChatResponse,
    response_model_exclude_unset=True,  # qr / full_answer only on the kiosk channel
    responses={
        **ERROR_RESPONSES,
        200: {"content": {SSE_MEDIA_TYPE: {}}, "description": "JSON, or SSE when streaming"},
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
    _principal: PrincipalDep,
) -> ChatResponse | Response:
    question = check_question(body.question, settings.api.max_question_chars)
    session_id = body.session_id or uuid.uuid4().hex
    if body.stream or SSE_MEDIA_TYPE in request.headers.get("accept", ""):
        return await stream_chat(request, assistant, store, metrics, body, question, session_id, request_id)
    started = time.perf_counter()
    known = body.session_id is not None  # a fresh session has no history: skip the lookup
    answer = await run_blocking(
        request, _answer_and_store, assistant, store, question, session_id, known, body.region, request_id
    )
    record_answer(
        metrics, answer, request_id=request_id, channel=body.channel, route="/v1/chat", session_id=session_id
    )
    server_ms = round((time.perf_counter() - started) * 1000, 3)
    return chat_response(answer, session_id, request_id, body.channel, server_ms)


def _answer_and_store(
    assistant: Assistant,
    store: SessionStore,
    question: str,
    session_id: str,
    known: bool,
    region: str | None,
    rid: str,
) -> Answer:
    """The blocking part of a chat turn, run in one threadpool hop: read history, answer, store the exchange."""
    turns = history(store, session_id, HISTORY_EXCHANGES) if known else []
    answer = assistant.answer(question, history=turns, region=region)
    store.append(exchange(answer, question, session_id, rid))
    return answer


def chat_response(
    answer: Answer, session_id: str, request_id: str, channel: str, server_ms: float
) -> ChatResponse:
    """The JSON reply; on the kiosk channel the answer is shortened and QR links are added."""
    wire = answer.to_dict()
    fields = {key: wire[key] for key in ("answer", "citations", "card", "handoff", "clarify", "answered_by")}
    fields["confidence"] = wire["confidence"]
    fields["timings"] = {**wire["timings"], "server_ms": server_ms}
    if channel == "kiosk":
        fields.update(kiosk_fields(answer))
    return ChatResponse.model_validate({**fields, "session_id": session_id, "request_id": request_id})
