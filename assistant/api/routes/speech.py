"""``POST /v1/speech``: an answer read aloud as audio by the server's offline speech engine.

For browsers without a local Chinese voice (locked-down kiosk browsers usually have none). Keyed
and rate-limited like the chat routes; the synthesis runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...speech import Speech, speakable
from ..deps import PrincipalDep
from ..schemas import ERROR_RESPONSES, HAS_TEXT_PATTERN
from ._common import run_blocking

router = APIRouter(tags=["speech"])
MAX_CHARS = 1200  # one answer: the widget and the kiosk send one at a time


class SpeechRequest(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=MAX_CHARS,
        pattern=HAS_TEXT_PATTERN,
        description=f"the text to read (≤ {MAX_CHARS} characters, not blank); citation marks [n] are skipped",
    )


_AUDIO = {"schema": {"type": "string", "format": "binary"}}


@router.post(
    "/v1/speech",
    response_class=Response,
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"audio/wav": _AUDIO}, "description": "the text read aloud (16-bit mono WAV)"},
        503: {**ERROR_RESPONSES[503], "description": "no speech engine on this server"},
    },
    summary="Read a text aloud (offline speech synthesis, WAV)",
)
async def speech(body: SpeechRequest, request: Request, _principal: PrincipalDep) -> Response:
    text = speakable(body.text) or body.text.strip()  # a text of nothing but marks is read as it is
    engine: Speech = request.app.state.speech
    audio = await run_blocking(request, engine.synthesize, text)
    # The audio is an answer the citizen asked for: never cached by proxies or the browser.
    return Response(audio, media_type=engine.media_type, headers={"Cache-Control": "no-store"})
