"""The real server: ``python serve.py`` on a free loopback port, driven by httpx and the official ``openai`` client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from _api_support import parse_sse, serve_py_env
from web_fixtures import serve_py

pytestmark = pytest.mark.integration

KEY = "kiosk-test-key-0000"
QUESTION = "办理普通护照需要什么材料？"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("server")
    env = serve_py_env(tmp, kiosk_keys=json.dumps([KEY]))
    with serve_py(env, startup_timeout_s=60) as base:
        yield base


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
