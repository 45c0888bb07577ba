"""``POST /v1/chat`` (JSON or Server-Sent Events, web/kiosk/api channels) and ``GET /v1/qr`` (QR code SVGs)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ...errors import AssistantError
from ...sessions import Exchange, SessionStore, history
from ...text import split_sentences
from ...types import Answer, Citation, Clarify, Event, Handoff
from ..deps import AssistantDep, MetricsDep, PrincipalDep, RequestIdDep, SettingsDep, StoreDep
from ..errors import APIError
from ..ownership import SessionRef, resolve_session, save_exchange
from ..qr import MAX_URL_CHARS, qr_svg, qr_url_ok
from ..schemas import ERROR_RESPONSES, ChatRequest, ChatResponse
from ._common import check_question, error_event_data, record_answer, run_blocking

log = logging.getLogger("assistant.api")
router = APIRouter(tags=["chat"])

KIOSK_ANSWER_CHARS = 120
HISTORY_EXCHANGES = 5
_SSE = "text/event-stream"


@router.post(
    "/v1/chat",
    response_model=ChatResponse,
    responses={
        **ERROR_RESPONSES,
        200: {"content": {_SSE: {}}, "description": "JSON, or SSE when streaming"},
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
) -> Response:
    question = check_question(body.question, settings.api.max_question_chars)
    # The client gets a token; the store and the logs only ever see its hash (``sid``).
    session = await run_in_threadpool(resolve_session, store, principal, body.session_id)
    if body.stream or _SSE in request.headers.get("accept", ""):
        return await _stream(request, assistant, store, metrics, body, question, session, request_id)
    started = time.perf_counter()
    answer = await run_blocking(
        request,
        _answer_and_store,
        assistant,
        store,
        question,
        session,
        body.region,
        body.channel,
        request_id,
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
    payload = _payload(answer, session.token, request_id)
    payload["timings"]["server_ms"] = round((time.perf_counter() - started) * 1000, 3)
    if body.channel == "kiosk":
        payload = _kiosk(payload, answer)
    return JSONResponse(payload)


def _answer_and_store(
    assistant: Any,
    store: SessionStore,
    question: str,
    session: SessionRef,
    region: str | None,
    channel: str,
    rid: str,
) -> Answer:
    """The blocking part of a chat turn, run in one threadpool hop: read history, answer, store the exchange."""
    # a fresh session has no history: skip the lookup
    turns = history(store, session.sid, HISTORY_EXCHANGES) if session.owner is None else []
    answer: Answer = assistant.answer(question, history=turns, region=region, channel=channel)
    save_exchange(store, _exchange(answer, question, session.sid, rid), session.owner)
    return answer


def _exchange(answer: Answer, question: str, session_id: str, rid: str) -> Exchange:
    cites = [{"n": c.n, "doc_id": c.doc_id, "title": c.title, "url": c.url} for c in answer.citations]
    return Exchange(
        request_id=rid,
        session_id=session_id,
        question=question,
        answer=answer.text,
        answered_by=answer.answered_by,
        handoff=answer.handoff.reason if answer.handoff else "",
        citations=cites,
    )


def _payload(answer: Answer, session_id: str, request_id: str) -> dict[str, Any]:
    wire = answer.to_dict()
    return {
        "answer": wire["answer"],
        "citations": wire["citations"],
        "card": wire["card"],
        "handoff": wire["handoff"],
        "clarify": wire["clarify"],
        "session_id": session_id,
        "request_id": request_id,
        "answered_by": wire["answered_by"],
        "confidence": wire["confidence"],
        "timings": dict(wire["timings"]),
    }


# --- kiosk --------------------------------------------------------------------------------------


def short_answer(text: str, limit: int = KIOSK_ANSWER_CHARS) -> str:
    """The first sentences of ``text`` that fit in ``limit`` characters (at least one, cut with … if needed)."""
    out = ""
    for sentence in split_sentences(text):
        if out and len(out) + len(sentence) > limit:
            break
        out += sentence
    out = out or text.strip()
    return out if len(out) <= limit else out[: limit - 1] + "…"


def qr_links(answer: Answer, max_links: int = 3) -> list[dict[str, str]]:
    """URLs worth scanning on a kiosk: the service's online 办理 link first, then cited sources."""
    found: list[tuple[str, str]] = []
    if answer.card is not None and answer.card.online_url:
        found.append(("在线办理：" + answer.card.title, answer.card.online_url))
    found += [(c.title, c.url) for c in answer.citations if c.url]
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for label, url in found:
        if url in seen or not qr_url_ok(url):
            continue
        seen.add(url)
        links.append({"label": label, "url": url, "svg": "/v1/qr?url=" + quote(url, safe="")})
    return links[:max_links]


def _kiosk(payload: dict[str, Any], answer: Answer) -> dict[str, Any]:
    payload["full_answer"] = payload["answer"]
    payload["answer"] = short_answer(payload["answer"])
    payload["qr"] = qr_links(answer)
    payload["citations"] = [{**c, "snippet": short_answer(c["snippet"], 60)} for c in payload["citations"]]
    return payload


@router.get(
    "/v1/qr",
    responses={200: {"content": {"image/svg+xml": {}}}, **ERROR_RESPONSES},
    response_class=Response,
    summary="A QR code (SVG) for an http(s) URL, for kiosk screens",
)
async def qr(
    request: Request,
    _principal: PrincipalDep,
    url: str = Query(min_length=8, max_length=MAX_URL_CHARS, pattern=r"^https?://"),
) -> Response:
    if not qr_url_ok(url):
        raise APIError(422, "invalid_input", "url must start with http:// or https://")
    svg = await anyio.to_thread.run_sync(qr_svg, url, limiter=request.app.state.qr_limiter)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=86400"})


# --- streaming ----------------------------------------------------------------------------------


async def _stream(
    request: Request,
    assistant: Any,
    store: SessionStore,
    metrics: Any,
    body: ChatRequest,
    question: str,
    session: SessionRef,
    rid: str,
) -> Response:
    session_id = session.token
    turns = (
        await run_in_threadpool(history, store, session.sid, HISTORY_EXCHANGES)
        if session.owner is None
        else []
    )
    events: Iterator[Event] = assistant.stream(
        question, history=turns, region=body.region, channel=body.channel
    )
    # Pull the first event before answering 200, so invalid input still gets a plain 4xx.
    first = await run_blocking(request, next, events, None)
    collected = _Collected()

    async def sse() -> AsyncIterator[ServerSentEvent]:
        try:
            if first is not None:
                yield _sse(collected.see(first, session_id, rid))
            async for event in iterate_in_threadpool(events):
                seen = collected.see(event, session_id, rid)
                if event.type == "done":  # stored before ``done``: a client that saw it can follow up
                    exchange = _exchange(collected.answer(question), question, session.sid, rid)
                    await run_in_threadpool(save_exchange, store, exchange, session.owner)
                yield _sse(seen)
        except Exception as exc:  # the status line is gone; report in-band, as the protocol says
            if not isinstance(exc, AssistantError):
                log.exception("stream failed (request_id=%s)", rid)
            elif exc.http_status >= 500:  # e.g. storage failed: one line, no traceback
                log.error(json.dumps({"event": "error", "request_id": rid, "code": exc.code}))
            yield ServerSentEvent(json.dumps(error_event_data(exc, rid), ensure_ascii=False), event="error")
            return
        await run_in_threadpool(
            record_answer,
            metrics,
            collected.answer(question),
            request_id=rid,
            channel=body.channel,
            route="/v1/chat",
            session_id=session.sid,
        )

    return EventSourceResponse(
        sse(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}, ping=15
    )


def _sse(event: Event) -> ServerSentEvent:
    return ServerSentEvent(json.dumps(event.data, ensure_ascii=False), event=event.type)


class _Collected:
    """Rebuilds the answer from the events as they pass, to store the exchange and count it afterwards."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.answer_obj = Answer(text="", answered_by="")

    def see(self, event: Event, session_id: str, rid: str) -> Event:
        a = self.answer_obj
        if event.type in ("meta", "done"):
            event = Event(event.type, {**event.data, "session_id": session_id, "request_id": rid})
            a.answered_by = event.data.get("answered_by", a.answered_by)
            a.timings = event.data.get("timings", a.timings)
            a.confidence = event.data.get("confidence", a.confidence)
        elif event.type == "delta":
            self.text.append(str(event.data.get("text", "")))
        elif event.type == "citations":
            a.citations = [Citation(**c) for c in event.data.get("citations", [])]
        elif event.type == "handoff":
            a.handoff = Handoff(**event.data)
        elif event.type == "clarify":
            a.clarify = Clarify(question=str(event.data.get("question", "")))
        return event

    def answer(self, question: str) -> Answer:
        self.answer_obj.text = "".join(self.text)
        self.answer_obj.question = question
        return self.answer_obj
