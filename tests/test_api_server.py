"""The real server: ``python serve.py`` on a free loopback port, driven by httpx and the official ``openai`` client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _api_support import build_api_index, parse_sse

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
KEY = "kiosk-test-key"
QUESTION = "办理普通护照需要什么材料？"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("server")
    index_dir = build_api_index(tmp)
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(index_dir),
        "ASSISTANT_KNOWLEDGE_DIR": str(tmp / "knowledge"),
        "ASSISTANT_CACHE_DIR": str(tmp / "cache"),
        "ASSISTANT_EMBEDDER__NAME": "hash",
        "ASSISTANT_EMBEDDER__DIM": "256",
        "ASSISTANT_TODAY": "2026-11-26",
        "ASSISTANT_API__SESSION_DB": str(tmp / "sessions.sqlite3"),
        "ASSISTANT_API__KIOSK_KEYS": json.dumps([KEY]),
    }
    log = open(tmp / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "serve.py", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError((tmp / "server.log").read_text())
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not become ready: " + (tmp / "server.log").read_text())
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_health_and_auth_on_the_real_server(server: str) -> None:
    assert httpx.get(server + "/healthz").json() == {"status": "ok"}
    r = httpx.post(server + "/v1/chat", json={"question": QUESTION})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_json_chat_on_the_real_server(server: str) -> None:
    r = httpx.post(server + "/v1/chat", json={"question": QUESTION}, headers={"X-API-Key": KEY}, timeout=30)
    assert r.status_code == 200
    assert r.json()["citations"] and r.json()["answer"]


def test_sse_chat_on_the_real_server(server: str) -> None:
    with httpx.stream(
        "POST",
        server + "/v1/chat",
        json={"question": QUESTION, "stream": True},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode())
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-1] == "done" and "citations" in names


def test_bad_input_on_the_real_server(server: str) -> None:
    r = httpx.post(
        server + "/v1/chat",
        content=b'{"question": "\xff"}',
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_body"


def test_official_openai_client(server: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server + "/v1", api_key=KEY, max_retries=0, timeout=30)
    assert [m.id for m in client.models.list()] == ["zhengwu-assistant"]
    completion = client.chat.completions.create(
        model="zhengwu-assistant", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content or ""
    assert "来源：" in content
    extra = completion.model_extra or {}
    assert extra.get("citations") and extra["citations"][0]["doc_id"]


def test_official_openai_client_streaming(server: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server + "/v1", api_key=KEY, max_retries=0, timeout=30)
    stream = client.chat.completions.create(
        model="zhengwu-assistant", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and "来源：" in text
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_openai_client_sees_errors(server: str) -> None:
    openai = pytest.importorskip("openai")
    bad = openai.OpenAI(base_url=server + "/v1", api_key="wrong", max_retries=0, timeout=30)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(
            model="zhengwu-assistant", messages=[{"role": "user", "content": QUESTION}]
        )
