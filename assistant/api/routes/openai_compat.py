"""OpenAI-compatible ``POST /v1/chat/completions`` and ``GET /v1/models``, so chat UIs can use the assistant as a model.

The last user message is the question and earlier user/assistant messages are the history (system
messages are ignored: the assistant's behaviour is not promptable). Citations ride in an extra
``citations`` field and as a 来源 footer appended to the content. Conversations are not stored here:
the client holds them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ...errors import AssistantError, InvalidInputError
from ...types import Answer, Citation, Event, Turn
from ..deps import AssistantDep, MetricsDep, PrincipalDep, RequestIdDep, SettingsDep
from ..schemas import ERROR_RESPONSES, ChatCompletionRequest, OAIMessage, OAIModelList
from ._common import check_question, error_event_data, record_answer, run_blocking

log = logging.getLogger("assistant.api")
router = APIRouter(tags=["openai-compatible"])

MODEL_ID = "zhengwu-assistant"
FOOTER_HEAD = "\n\n来源："
_CREATED = int(time.time())


@router.get(
    "/v1/models",
    response_model=OAIModelList,
    responses={code: ERROR_RESPONSES[code] for code in (401, 403, 429)},
    summary="The one model this server offers",
)
async def models(_principal: PrincipalDep) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": _CREATED, "owned_by": "zhengwu"}],
    }


@router.post(
    "/v1/chat/completions",
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
    _principal: PrincipalDep,
) -> Response:
    question, turns = split_messages(body.messages)
    question = check_question(question, settings.api.max_question_chars)
    completion_id = "chatcmpl-" + request_id
    if body.stream:
        events = assistant.stream(question, history=turns, channel="api")
        # Pull the first event now: invalid input then gets a plain 4xx, not a broken stream.
        first = await run_blocking(request, next, events, None)
        return StreamingResponse(
            _chunks(first, events, completion_id, metrics, request_id),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    answer: Answer = await run_blocking(request, assistant.answer, question, turns, None, "api")
    await run_in_threadpool(  # the log line masks the question: CPU work, off the loop
        record_answer, metrics, answer, request_id=request_id, channel="api", route="/v1/chat/completions"
    )
    content = answer.text + clarify_text(answer) + sources_footer(answer.citations)
    return JSONResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": _usage(turns, question, content),
            "citations": [c.to_dict() for c in answer.citations],
            "answered_by": answer.answered_by,
            "handoff": answer.handoff.to_dict() if answer.handoff else None,
            "request_id": request_id,
        }
    )


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
            turns.append(Turn("assistant", m.text().split(FOOTER_HEAD, 1)[0]))
    return messages[last_user].text(), turns


def sources_footer(citations: list[Citation]) -> str:
    """``\\n\\n来源：\\n[1] 标题（文号） url`` lines; empty when nothing is cited."""
    if not citations:
        return ""
    lines = []
    for c in citations:
        line = f"[{c.n}] {c.title}"
        if c.doc_number:
            line += f"（{c.doc_number}）"
        if c.url:
            line += f" {c.url}"
        lines.append(line)
    return FOOTER_HEAD + "\n" + "\n".join(lines)


def clarify_text(answer: Answer) -> str:
    """A clarifying question's options as a list, since plain chat UIs cannot render buttons."""
    if answer.clarify is None or not answer.clarify.options:
        return ""
    return "\n" + "\n".join(f"{i}. {o.label}" for i, o in enumerate(answer.clarify.options, 1))


def _usage(turns: list[Turn], question: str, content: str) -> dict[str, int]:
    # Characters stand in for tokens (Chinese text is about one token per character).
    prompt = len(question) + sum(len(t.content) for t in turns)
    return {"prompt_tokens": prompt, "completion_tokens": len(content), "total_tokens": prompt + len(content)}


async def _chunks(
    first: Event | None, events: Iterator[Event], cid: str, metrics: Any, rid: str
) -> AsyncIterator[bytes]:
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
    answer = Answer(text="", answered_by="")
    parts: list[str] = []
    try:
        pending = [first] if first is not None else []
        async for event in _chain(pending, events):
            if event.type == "delta":
                parts.append(str(event.data.get("text", "")))
                yield chunk({"content": event.data.get("text", "")})
            elif event.type == "citations":
                answer.citations = [Citation(**c) for c in event.data.get("citations", [])]
            elif event.type == "clarify" and event.data.get("options"):
                options = event.data["options"]
                yield chunk(
                    {
                        "content": "\n"
                        + "\n".join(f"{i}. {o.get('label', '')}" for i, o in enumerate(options, 1))
                    }
                )
            elif event.type in ("meta", "done"):
                answer.answered_by = event.data.get("answered_by", answer.answered_by)
                answer.timings = event.data.get("timings", answer.timings)
    except Exception as exc:
        if not isinstance(exc, AssistantError):
            log.exception("stream failed (request_id=%s)", rid)
        yield b"data: " + json.dumps(error_event_data(exc, rid), ensure_ascii=False).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"
        return
    footer = sources_footer(answer.citations)
    if footer:
        yield chunk({"content": footer})
    yield chunk({}, "stop", citations=[c.to_dict() for c in answer.citations], request_id=rid)
    yield b"data: [DONE]\n\n"
    answer.text = "".join(parts)
    await run_in_threadpool(
        record_answer, metrics, answer, request_id=rid, channel="api", route="/v1/chat/completions"
    )


async def _chain(pending: list[Event], events: Iterator[Event]) -> AsyncIterator[Event]:
    for event in pending:
        yield event
    async for event in iterate_in_threadpool(events):
        yield event
