"""Helpers for the browser tests: a loopback uvicorn runner, a scripted chat API, and Chromium launch options.

The scripted API speaks the real ``/v1/chat`` wire contract (SSE events meta/delta/citations/card/
handoff/clarify/done) with fixed content, so UI behaviour (clarify buttons, error/retry, hostile
host CSS) is tested deterministically; the must-hold checks run against the real app instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",  # read-aloud audio starts after an awaited fetch
]
# Browser tests take screenshots; they refresh docs/screenshots/ only when asked
# (SCREENSHOTS_DIR=docs/screenshots), so an ordinary run leaves the tree clean.
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS_DIR") or Path(os.environ.get("TMPDIR", "/tmp")) / "zhengwu-screenshots"
)
# axe-core from npm (`make axe` installs it into the ignored .cache/npm); audits skip without it.
AXE = Path(__file__).resolve().parents[1] / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any, startup_timeout_s: float = 60.0) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def serve_py(
    env: dict[str, str], startup_timeout_s: float = 120.0, args: Sequence[str] = ()
) -> Iterator[str]:
    """Run ``python serve.py`` on a free loopback port with extra env (and ``args``, e.g. ``--workers 2``);
    yields its base URL once ready."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "serve.py",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            *args,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_timeout_s
    try:
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
                raise RuntimeError(f"serve.py exited with {proc.returncode}: {err[-2000:]}")
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve.py did not become ready")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def axe_violations(frame: Any, iframes: bool = True) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations in a Playwright page or frame (rule id, impact, first nodes)."""
    frame.evaluate(AXE.read_text(encoding="utf-8"))
    return frame.evaluate(  # type: ignore[no-any-return]
        # Colour transitions (mode switches) finish first: axe must see the settled colours.
        "async ([tags, iframes]) => { await Promise.all(document.getAnimations()"
        ".filter(a => isFinite(a.effect.getComputedTiming().endTime)).map(a => a.finished.catch(() => null)));"
        " const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations'], iframes}); return r.violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))})); }",
        [WCAG21_AA, iframes],
    )


# --- the scripted chat API ------------------------------------------------------------------------

ANSWER = (
    "办理居住证需要在居住地连续居住满半年，并符合合法稳定就业、合法稳定住所或连续就读条件之一[1]。\n"
    "申请人可通过“粤省事”或就近的派出所、社区服务中心提交材料，一般 15 个工作日内办结[2]。"
)
CITATIONS = [
    {
        "n": 1,
        "doc_id": "policy-juzhuzheng",
        "chunk_id": "policy-juzhuzheng#0",
        "title": "XX市居住证管理办法",
        "snippet": "在本市居住半年以上，符合下列条件之一的，可以申领居住证……",
        "type": "policy",
        "doc_number": "X府〔2023〕12号",
        "department": "XX市公安局",
        "publish_date": "2023-05-10",
        "status": "现行有效",
        "url": "http://127.0.0.1/policy/1",
    },
    {
        "n": 2,
        "doc_id": "guide-juzhuzheng",
        "chunk_id": "guide-juzhuzheng#1",
        "title": "居住证申领办事指南",
        "snippet": "办理时限：15个工作日。",
        "type": "guide",
        "doc_number": "",
        "department": "XX市公安局",
        "publish_date": "2024-01-02",
        "status": "现行有效",
        "url": "",
    },
]
CARD = {
    "title": "居住证申领",
    "doc_id": "guide-juzhuzheng",
    "department": "XX市公安局",
    "region": "XX市",
    "fields": [
        {
            "key": "conditions",
            "label": "申请条件",
            "value": "在本市居住半年以上，有合法稳定就业、住所或连续就读。",
            "items": [],
        },
        {
            "key": "materials",
            "label": "所需材料",
            "value": "",
            "items": ["居民身份证原件", "近期一寸免冠照片", "居住登记凭证", "劳动合同或营业执照"],
        },
        {"key": "time_limit", "label": "办理时限", "value": "15个工作日", "items": []},
    ],
    "online_url": "http://127.0.0.1/online/juzhuzheng",
    "phone": "020-12345678",
}
HANDOFF = {
    "reason": "complaint",
    "message": "您反映的是具体个案诉求，智能助手无法代为处理，请通过以下渠道反映，将有专人跟进。",
    "hotline": "12345",
    "channels": ["12345 政务服务便民热线", "12345 网上留言板"],
    "department": "XX市生态环境局",
    "department_phone": "020-88886666",
}
CLARIFY = {
    "question": "您想了解医保的哪一项业务？",
    "options": [
        {"label": "城乡居民医保参保", "question": "城乡居民医保怎么参保？", "doc_id": "g1"},
        {"label": "医保报销", "question": "医保报销需要什么材料？", "doc_id": "g2"},
    ],
}


LABEL = {"ai_generated": True, "text": "本回答由人工智能生成，仅供参考，请以官方发布为准"}
CURATED_LABEL = {"ai_generated": False, "text": "本答案经人工审核发布"}
CLEAN = {"flagged": False, "categories": []}


def scripted_reply(question: str) -> dict[str, Any]:
    """The fixed reply for a question: hand-off, clarifying question, a curated answer, or the 居住证 answer."""
    safety = {"label": LABEL, "moderation": CLEAN}
    if "投诉" in question or "转人工" in question:
        return {
            "answer": HANDOFF["message"],
            "citations": [],
            "handoff": HANDOFF,
            "answered_by": "handoff",
            **safety,
        }
    if question.startswith("医保怎么"):
        return {
            "answer": CLARIFY["question"],
            "citations": [],
            "clarify": CLARIFY,
            "answered_by": "clarify",
            **safety,
        }
    if question.startswith("审核过的"):
        return {
            "answer": "这是一条人工审核过的答案。",
            "citations": [],
            "answered_by": "curated",
            "label": CURATED_LABEL,
            "moderation": CLEAN,
        }
    return {"answer": ANSWER, "citations": CITATIONS, "card": CARD, "answered_by": "extractive", **safety}


def _sse(event: str, data: dict[str, Any]) -> str:
    # \r\n line endings, as sse-starlette sends them, to exercise the client's parser.
    return f"event: {event}\r\ndata: {json.dumps(data, ensure_ascii=False)}\r\n\r\n"


def scripted_api() -> FastAPI:
    """A FastAPI app with the web routes and a scripted ``/v1/chat`` (set ``app.state.down`` to fail)."""
    from assistant.web.routes import install

    app = FastAPI()
    app.state.down = False
    app.state.requests = []
    app.state.feedback = []
    app.state.deleted = []
    app.state.delay_s = 0.04
    app.state.speech = []  # texts sent to /v1/speech
    app.state.speech_down = False
    app.state.host_html = "<!doctype html><title>host</title><p>host page</p>"
    install(app)

    @app.get("/host-page")
    async def host_page() -> Response:
        return Response(app.state.host_html, media_type="text/html")

    @app.post("/v1/chat")
    async def chat(request: Request) -> Response:
        body = await request.json()
        app.state.requests.append({"body": body, "key": request.headers.get("x-api-key", "")})
        if app.state.down:
            return JSONResponse(
                {"error": {"code": "unavailable", "message": "index not loaded", "request_id": "x"}},
                status_code=503,
            )
        reply = scripted_reply(body["question"])
        session_id = body.get("session_id") or uuid.uuid4().hex
        request_id = uuid.uuid4().hex
        if not body.get("stream"):
            if body.get("channel") == "kiosk" and "\n" in reply["answer"]:  # the kiosk's short answer
                reply = {**reply, "answer": reply["answer"].split("\n")[0], "full_answer": reply["answer"]}
            return JSONResponse(
                {
                    "session_id": session_id,
                    "request_id": request_id,
                    "card": None,
                    "handoff": None,
                    "clarify": None,
                    "timings": {},
                    **reply,
                }
            )

        async def events() -> AsyncIterator[str]:
            safety = {"label": reply["label"], "moderation": reply["moderation"]}
            yield _sse("meta", {"session_id": session_id, "request_id": request_id, **safety})
            text = reply["answer"]
            for i in range(0, len(text), 12):
                await asyncio.sleep(app.state.delay_s)
                yield _sse("delta", {"text": text[i : i + 12]})
            yield _sse("citations", {"citations": reply["citations"]})
            for kind in ("card", "handoff", "clarify"):
                if reply.get(kind):
                    yield _sse(kind, reply[kind])
            yield _sse("done", {"answered_by": reply["answered_by"], "timings": {"total": 1.0}, **safety})

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/speech")
    async def speech(request: Request) -> Response:
        from assistant.speech import FakeSpeech

        body = await request.json()
        app.state.speech.append(body["text"])
        if app.state.speech_down:
            return JSONResponse(
                {"error": {"code": "speech_unavailable", "message": "no engine", "request_id": "x"}},
                status_code=503,
            )
        return Response(FakeSpeech().synthesize(body["text"]), media_type="audio/wav")

    @app.post("/v1/feedback")
    async def feedback(request: Request) -> dict[str, Any]:
        body = await request.json()
        app.state.feedback.append(body)
        return {"ok": True, "request_id": body["request_id"]}

    app.state.reports = {}  # tracking number -> the filed body

    @app.post("/v1/reports")
    async def file_report(request: Request) -> Response:
        body = await request.json()
        number = f"20261129-{len(app.state.reports) + 1:010d}"
        app.state.reports[number] = body
        created = {
            "tracking_number": number,
            "status": "待处理",
            "reason": body["reason"],
            "created_at": "2026-11-29T09:00:00+00:00",
            "deadline": "2026-12-14T09:00:00+00:00",
        }
        return JSONResponse(created, status_code=201)

    @app.get("/v1/reports/{number}")
    async def report_status(number: str) -> Response:
        if number not in app.state.reports:
            return JSONResponse(
                {"error": {"code": "not_found", "message": "unknown", "request_id": "x"}}, status_code=404
            )
        return JSONResponse(
            {
                "tracking_number": number,
                "status": "待处理",
                "deadline": "2026-12-14T09:00:00+00:00",
                "overdue": False,
                "handler_note": "",
            }
        )

    @app.delete("/v1/sessions/{session_id}")
    async def delete_session(session_id: str) -> Response:
        app.state.deleted.append(session_id)
        return Response(status_code=204)

    return app
