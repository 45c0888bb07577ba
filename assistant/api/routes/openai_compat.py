"""OpenAI-compatible ``POST /v1/chat/completions`` and ``GET /v1/models``, so chat UIs can use the assistant as a model.

The last user message is the question and earlier user/assistant messages are the history (system
messages are ignored: the assistant's behaviour is not promptable). Citations ride in an extra
``citations`` field and as a 来源 footer appended to the content (``presentation.sources_footer``).
The client holds the conversation; each completion is still filed as a one-exchange session of
the caller's key (channel ``api``), so it can be reviewed, reported (``/v1/reports``) and purged
like any other answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ...errors import AssistantError, InvalidInputError
from ...pipeline import AnswerStream
from ...presentation import sources_footer, without_footer
from ...sessions import SessionStore
from ...types import Answer, Event, Turn
from ..deps import AssistantDep, MetricsDep, PrincipalDep, RequestIdDep, SettingsDep, StoreDep
from ..metrics import Metrics
from ..ownership import owner_of, save_exchange, server_id
from ..schemas import ERROR_RESPONSES, ChatCompletion, ChatCompletionRequest, OAIMessage, OAIModelList
from ..security import Principal
from ._common import check_question, error_event_data, exchange, record_answer, run_blocking

log = logging.getLogger("assistant.api")
router = APIRouter(tags=["openai-compatible"])

MODEL_ID = "zhengwu-assistant"
ROUTE = "/v1/chat/completions"
_CREATED = int(time.time())


@router.get(
    "/v1/models",
    response_model=OAIModelList,
    responses={code: ERROR_RESPONSES[code] for code in (401, 403, 429)},
    summary="The one model this server offers",
)
async def models(_principal: PrincipalDep) -> OAIModelList:
    return OAIModelList.model_validate(
        {"data": [{"id": MODEL_ID, "object": "model", "created": _CREATED, "owned_by": "zhengwu"}]}
    )


@router.post(
    ROUTE,
    response_model=ChatCompletion,
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"text/event-stream": {}}, "description": "chat.completion(.chunk)"},
    },
    summary="OpenAI chat.completions: the last user message is the question",
)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    assistant: AssistantDep,
    metrics: MetricsDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    principal: PrincipalDep,
    store: StoreDep,
) -> ChatCompletion | Response:
    question, turns = split_messages(body.messages)
    question = check_question(question, settings.api.max_question_chars)
    completion_id = "chatcmpl-" + request_id
    if body.stream:
        events = assistant.stream(question, history=turns)
        # Pull the first event now: invalid input then gets a plain 4xx, not a broken stream.
        first = await run_blocking(request, next, events, None)
        return StreamingResponse(
            _chunks(first, events, completion_id, metrics, request_id, store, principal, question),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    answer: Answer = await run_blocking(request, assistant.answer, question, turns)
    await run_in_threadpool(file_exchange, store, principal, answer, question, request_id)
    await run_in_threadpool(  # the log line masks the question: CPU work, off the loop
        record_answer, metrics, answer, request_id=request_id, channel="api", route=ROUTE
    )
    content = answer.text + sources_footer(answer.citations)
    return ChatCompletion.model_validate(
        {
            "id": completion_id,
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [{"message": {"content": content}}],
            "usage": _usage(turns, question, content),
            "citations": [c.to_dict() for c in answer.citations],
            "answered_by": answer.answered_by,
            "handoff": answer.handoff.to_dict() if answer.handoff else None,
            "request_id": request_id,
        }
    )


def file_exchange(store: SessionStore, principal: Principal, answer: Answer, question: str, rid: str) -> None:
    """Store one completion as its own session (no token is handed out: only admins can open it)."""
    sid = server_id(f"completion:{rid}")
    save_exchange(store, exchange(answer, question, sid, rid, "api"), owner_of(principal))


def split_messages(messages: list[OAIMessage]) -> tuple[str, list[Turn]]:
    """The last user message with text and the user/assistant turns before it (our own footers stripped)."""
    last_user = max(
        (i for i, m in enumerate(messages) if m.role == "user" and m.text().strip()), default=None
    )
    if last_user is None:
        raise InvalidInputError("messages must contain a user message")
    turns: list[Turn] = []
    for m in messages[:last_user]:
        if m.role == "user":
            turns.append(Turn("user", m.text()))
        elif m.role == "assistant":
            turns.append(Turn("assistant", without_footer(m.text())))
    return messages[last_user].text(), turns


def _usage(turns: list[Turn], question: str, content: str) -> dict[str, int]:
    # Characters stand in for tokens (Chinese text is about one token per character).
    prompt = len(question) + sum(len(t.content) for t in turns)
    return {"prompt_tokens": prompt, "completion_tokens": len(content), "total_tokens": prompt + len(content)}


async def _chunks(
    first: Event | None,
    events: AnswerStream,
    cid: str,
    metrics: Metrics,
    rid: str,
    store: SessionStore,
    principal: Principal,
    question: str,
) -> AsyncIterator[bytes]:
    """chat.completion.chunk lines: the answer's text deltas, then the 来源 footer, then ``[DONE]``."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        data = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        if first is not None and first.type == "delta":
            yield chunk({"content": first.data.get("text", "")})
        async for event in iterate_in_threadpool(events):
            if event.type == "delta":
                yield chunk({"content": event.data.get("text", "")})
        await run_in_threadpool(file_exchange, store, principal, events.answer, question, rid)
    except Exception as exc:
        if not isinstance(exc, AssistantError):
            log.exception("stream failed (request_id=%s)", rid)
        yield b"data: " + json.dumps(error_event_data(exc, rid), ensure_ascii=False).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"
        return
    answer = events.answer
    footer = sources_footer(answer.citations)
    if footer:
        yield chunk({"content": footer})
    yield chunk({}, "stop", citations=[c.to_dict() for c in answer.citations], request_id=rid)
    yield b"data: [DONE]\n\n"
    await run_in_threadpool(record_answer, metrics, answer, request_id=rid, channel="api", route=ROUTE)
