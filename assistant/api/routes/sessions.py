"""``GET`` / ``DELETE /v1/sessions/{id}``: read back or erase a conversation (erasure really removes the rows)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...errors import NotFoundError
from ..deps import PrincipalDep, StoreDep
from ..ownership import open_session
from ..schemas import ERROR_RESPONSES, SESSION_ID_PATTERN, SessionOut

router = APIRouter(tags=["sessions"])

SessionId = Path(
    pattern=SESSION_ID_PATTERN,
    description="a session_id returned by /v1/chat to this key; others (unknown, expired, foreign) are 404",
)


@router.get(
    "/v1/sessions/{session_id}",
    response_model=SessionOut,
    responses=ERROR_RESPONSES | {404: ERROR_RESPONSES[422] | {"description": "unknown session"}},
    summary="A conversation's history",
)
async def get_session(
    store: StoreDep, principal: PrincipalDep, session_id: str = SessionId
) -> dict[str, Any]:
    sid = await run_in_threadpool(open_session, store, principal, session_id)
    exchanges = await run_in_threadpool(store.exchanges, sid)
    if exchanges is None:
        raise NotFoundError(f"unknown session {session_id!r}")
    turns: list[dict[str, Any]] = []
    for ex in exchanges:
        turns.append({"role": "user", "content": ex.question, "request_id": ex.request_id})
        turns.append({"role": "assistant", "content": ex.answer, "request_id": ex.request_id})
    return {"session_id": session_id, "turns": turns, "exchanges": [ex.to_dict() for ex in exchanges]}


@router.delete(
    "/v1/sessions/{session_id}",
    status_code=204,
    responses=ERROR_RESPONSES | {404: ERROR_RESPONSES[422] | {"description": "unknown session"}},
    summary="Erase a conversation and its feedback",
)
async def delete_session(store: StoreDep, principal: PrincipalDep, session_id: str = SessionId) -> Response:
    sid = await run_in_threadpool(open_session, store, principal, session_id)
    if not await run_in_threadpool(store.delete, sid):
        raise NotFoundError(f"unknown session {session_id!r}")
    return Response(status_code=204)
