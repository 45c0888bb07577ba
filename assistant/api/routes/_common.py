"""Helpers the chat routes share: length checks, answer bookkeeping (metrics + log + session), SSE error events."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request

from ...errors import AssistantError, InvalidInputError
from ...sessions import Exchange
from ...types import Answer
from ..errors import error_body
from ..logging import log_event
from ..metrics import Metrics
from ..security import Principal

T = TypeVar("T")
HISTORY_EXCHANGES = 5  # a chat turn is rewritten with at most this many earlier exchanges


def check_question(question: str, max_chars: int) -> str:
    """The stripped question; ``InvalidInputError`` (422) when empty or longer than ``max_chars``."""
    q = question.strip()
    if not q:
        raise InvalidInputError("question is empty")
    if len(q) > max_chars:
        raise InvalidInputError(f"question is longer than {max_chars} characters ({len(q)})")
    return q


def record_answer(
    metrics: Metrics, answer: Answer, *, request_id: str, channel: str, route: str, session_id: str = ""
) -> None:
    """Count the outcome and stage timings, and write the answer's log line (question masked)."""
    handoff = answer.handoff.reason if answer.handoff else None
    stages = {k.removesuffix("_ms"): v for k, v in answer.timings.items()}
    metrics.observe_answer(answer.answered_by, channel, stages, handoff, answer.clarify is not None)
    log_event(
        "answer",
        request_id=request_id,
        route=route,
        session_id=session_id,
        channel=channel,
        answered_by=answer.answered_by,
        handoff=handoff,
        citations=len(answer.citations),
        confidence=round(answer.confidence, 4),
        timings=answer.timings,
        question=answer.question,
    )


REVIEW_HITS = 5  # hits (with their scores) kept with each exchange for the console's review
# further answer fields kept in ``Exchange.meta`` when present (read from ``Answer.to_dict()``)
META_FIELDS = ("intent", "intent_confidence", "moderation", "label")


def stored_channel(principal: Principal, requested: str) -> str:
    """The channel an exchange is filed under: the key's kind (widget / kiosk); without a key of
    either kind, the channel the request named (web → widget)."""
    if principal.kind in ("widget", "kiosk"):
        return principal.kind
    return {"web": "widget"}.get(requested, requested)


def exchange(answer: Answer, question: str, session_id: str, rid: str, channel: str = "") -> Exchange:
    """The session record of one chat turn, with what the console's review shows: channel, confidence,
    the answering department, the top hits with their scores, and ``meta`` (intent, moderation, label)."""
    cites = [
        {"n": c.n, "doc_id": c.doc_id, "title": c.title, "url": c.url, "department": c.department}
        for c in answer.citations
    ]
    hits = [
        {
            "doc_id": h.doc_id,
            "title": h.chunk.title,
            "chunk_id": h.chunk.id,
            "score": round(float(h.score), 4),
            "dense": None if h.dense_score is None else round(float(h.dense_score), 4),
            "keyword": None if h.keyword_score is None else round(float(h.keyword_score), 4),
        }
        for h in answer.hits[:REVIEW_HITS]
    ]
    department = answer.citations[0].department if answer.citations else ""
    if not department and answer.handoff is not None:
        department = answer.handoff.department
    wire = answer.to_dict()
    meta = {key: wire[key] for key in META_FIELDS if wire.get(key) not in (None, "")}
    return Exchange(
        request_id=rid,
        session_id=session_id,
        question=question,
        answer=answer.text,
        answered_by=answer.answered_by,
        handoff=answer.handoff.reason if answer.handoff else "",
        citations=cites,
        channel=channel,
        confidence=round(float(answer.confidence), 4),
        department=department,
        hits=hits,
        meta=meta,
    )


def error_event_data(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The ``error`` SSE payload: the same shape as an HTTP error body, plus the status it would have had."""
    if isinstance(exc, AssistantError):
        body = error_body(exc.code, str(exc) or exc.code, request_id)
        body["error"]["status"] = exc.http_status
        if exc.retry_after_s:
            body["error"]["retry_after"] = exc.retry_after_s
        return body
    body = error_body("internal_error", "internal error", request_id)
    body["error"]["status"] = 500
    return body


async def run_blocking(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking assistant call in a worker thread, at most ``answer_limiter`` of them at once.

    Bounding the parallel answers near the core count keeps requests first-come-first-served instead
    of 32 threads time-slicing the GIL, which lowers median latency at the same throughput.
    """
    limiter = request.app.state.answer_limiter
    return await anyio.to_thread.run_sync(partial(fn, *args), limiter=limiter)
