"""Bad input, keys, origins, limits and readiness: each gets its documented 4xx/503 in the one error shape."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _api_support import api_settings
from fastapi.testclient import TestClient

from assistant.api import create_app

Q = {"question": "办理普通护照需要什么材料？"}


def assert_error(r: object, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text)  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["request_id"] == r.headers["x-request-id"]  # type: ignore[attr-defined]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "content,status,code",
    [
        (b'{"question": ""}', 422, "invalid_input"),
        (b'{"question": "   \\n "}', 422, "invalid_input"),
        (b'{"question": "' + "问".encode() * 2001 + b'"}', 422, "invalid_input"),
        (b'{"question": 42}', 422, "invalid_input"),
        (b'{"question": ["a"]}', 422, "invalid_input"),
        (b'{"question": "hi", "channel": "fax"}', 422, "invalid_input"),
        (b'{"question": "hi", "stream": "maybe"}', 422, "invalid_input"),
        (b'{"question": "hi", "session_id": "../../etc"}', 422, "invalid_input"),
        (b"{}", 422, "invalid_input"),
        (b"[]", 422, "invalid_input"),
        (b"null", 422, "invalid_input"),
        (b'{"question": "hi"', 400, "invalid_json"),
        (b'\xff\xfe{"question": "\xc3\x28"}', 400, None),
        (b'{"question": "\xe5\x8a"}', 400, None),
    ],
    ids=[
        "empty",
        "blank",
        "too-long",
        "int",
        "list",
        "bad-channel",
        "bad-stream",
        "bad-session-id",
        "missing",
        "array",
        "null",
        "truncated-json",
        "bad-utf8",
        "cut-utf8",
    ],
)
def test_bad_chat_bodies(api_client: TestClient, content: bytes, status: int, code: str | None) -> None:
    assert_error(api_client.post("/v1/chat", content=content, headers=JSON), status, code)


def test_question_at_the_limit_is_accepted(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat", json={"question": "护照" * 1000})
    assert r.status_code == 200


def test_oversized_body_is_413(api_client: TestClient) -> None:
    big = b'{"question": "' + b"a" * 70_000 + b'"}'
    assert_error(api_client.post("/v1/chat", content=big, headers=JSON), 413, "payload_too_large")


def test_oversized_chunked_body_is_413(api_client: TestClient) -> None:
    def gen():  # no Content-Length: the limit is enforced while reading
        for _ in range(20):
            yield b"x" * 4096

    assert_error(api_client.post("/v1/chat", content=gen(), headers=JSON), 413, "payload_too_large")


@pytest.mark.parametrize(
    "method,url,kwargs,status",
    [
        ("get", "/v1/sessions/unknown-session-1", {}, 404),
        ("delete", "/v1/sessions/unknown-session-1", {}, 404),
        ("get", "/v1/sessions/bad", {}, 422),
        ("post", "/v1/feedback", {"json": {"request_id": "never-issued", "rating": "up"}}, 404),
        ("post", "/v1/feedback", {"json": {"request_id": "x", "rating": "meh"}}, 422),
        ("post", "/v1/feedback", {"json": {"rating": "up"}}, 422),
        ("get", "/v1/search", {}, 422),
        ("get", "/v1/search", {"params": {"q": ""}}, 422),
        ("get", "/v1/search", {"params": {"q": "护照", "k": 0}}, 422),
        ("get", "/v1/search", {"params": {"q": "护照", "k": "many"}}, 422),
        ("get", "/v1/search", {"params": {"q": "问" * 2001}}, 422),
        ("post", "/v1/chat/completions", {"json": {"messages": []}}, 422),
        ("post", "/v1/chat/completions", {"json": {"messages": [{"role": "wizard", "content": "x"}]}}, 422),
        ("post", "/v1/chat/completions", {"json": {"messages": [{"role": "user", "content": ""}]}}, 422),
        ("get", "/v1/chat", {}, 405),
        ("get", "/v1/nothing-here", {}, 404),
        ("get", "/v1/qr", {"params": {"url": "ftp://files.example"}}, 422),
    ],
)
def test_other_bad_requests(api_client: TestClient, method: str, url: str, kwargs: dict, status: int) -> None:
    assert_error(getattr(api_client, method)(url, **kwargs), status)


# --- keys and origins --------------------------------------------------------------------------

KEYS = {
    "widget_keys": ["widget-public"],
    "kiosk_keys": ["kiosk-1-secret-0000"],
    "admin_keys": ["admin-secret-0000000"],
    "allowed_origins": ["https://portal.example.gov.cn"],
}
PORTAL = "https://portal.example.gov.cn"


@pytest.fixture
def secured(make_api_client: Callable[..., TestClient]) -> TestClient:
    return make_api_client(**KEYS)


def test_anonymous_when_no_keys_configured(api_client: TestClient) -> None:
    assert api_client.post("/v1/chat", json=Q).status_code == 200


def test_missing_and_invalid_keys_are_401(secured: TestClient) -> None:
    err = assert_error(secured.post("/v1/chat", json=Q), 401, "unauthorized")
    assert "missing" in err["message"]
    r = secured.post("/v1/chat", json=Q, headers={"Authorization": "Bearer nope"})
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer kiosk-1-secret-0000"},
        {"X-API-Key": "kiosk-1-secret-0000"},
        {"Authorization": "Bearer admin-secret-0000000"},
    ],
)
def test_valid_keys_pass(secured: TestClient, headers: dict[str, str]) -> None:
    assert secured.post("/v1/chat", json=Q, headers=headers).status_code == 200


def test_widget_key_only_from_allowed_origin(secured: TestClient) -> None:
    key = {"Authorization": "Bearer widget-public"}
    assert secured.post("/v1/chat", json=Q, headers={**key, "Origin": PORTAL}).status_code == 200
    assert_error(secured.post("/v1/chat", json=Q, headers=key), 403, "origin_required")
    assert_error(
        secured.post("/v1/chat", json=Q, headers={**key, "Origin": "https://evil.example"}),
        403,
        "origin_not_allowed",
    )


def test_disallowed_origin_is_403_even_anonymous(api_client: TestClient) -> None:
    assert_error(
        api_client.post("/v1/chat", json=Q, headers={"Origin": "https://evil.example"}),
        403,
        "origin_not_allowed",
    )
    r = api_client.options(
        "/v1/chat", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert_error(r, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in r.headers


def test_allow_listed_page_origins_are_allowed(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat", json=Q, headers={"Origin": "http://127.0.0.1:8000"})
    assert r.status_code == 200


def test_metrics_need_admin_key_once_keys_exist(secured: TestClient) -> None:
    assert_error(secured.get("/metrics", headers={"Authorization": "Bearer kiosk-1-secret-0000"}), 401)
    assert (
        secured.get("/metrics", headers={"Authorization": "Bearer admin-secret-0000000"}).status_code == 200
    )
    assert secured.get("/healthz").status_code == 200


# --- rate limits ---------------------------------------------------------------------------------


def test_per_ip_rate_limit_gives_429_with_retry_after(make_api_client: Callable[..., TestClient]) -> None:
    c = make_api_client(rate_limit_per_minute=3)
    codes = [c.get("/v1/search", params={"q": "护照"}).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = c.get("/v1/search", params={"q": "护照"})
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["retry-after"]) <= 60  # when the oldest request leaves the 60 s window
    assert "zhengwu_rate_limited_total" in c.get("/metrics").text


def test_per_key_rate_limit_and_admin_exemption(make_api_client: Callable[..., TestClient]) -> None:
    c = make_api_client(rate_limit_per_minute=2, **KEYS)
    kiosk = {"Authorization": "Bearer kiosk-1-secret-0000"}
    assert [c.get("/v1/models", headers=kiosk).status_code for _ in range(2)] == [200, 200]
    assert_error(c.get("/v1/models", headers=kiosk), 429, "rate_limited")
    admin = {"Authorization": "Bearer admin-secret-0000000"}
    assert all(c.get("/v1/models", headers=admin).status_code == 200 for _ in range(5))


# The limiter itself (windows, Redis sharing, Redis down) is tested in test_ratelimit.py.


# --- readiness -------------------------------------------------------------------------------------


def test_not_ready_until_index_loads(tmp_path: Path) -> None:
    from assistant.pipeline import Assistant

    settings = api_settings(tmp_path)  # no index was built here: warm-up fails
    with TestClient(create_app(settings, Assistant.from_settings(settings))) as c:
        assert c.get("/healthz").status_code == 200
        deadline = time.time() + 10
        while not c.app.state.load_error and time.time() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        err = assert_error(c.get("/readyz"), 503, "not_ready")
        assert "Index" in err["message"] or "index" in err["message"]
        assert_error(c.post("/v1/chat", json=Q), 503, "not_ready")
        assert_error(c.get("/v1/search", params={"q": "护照"}), 503, "not_ready")


def test_warm_up_runs_in_background_and_readyz_flips(tmp_path: Path) -> None:
    import threading

    from _api_support import build_api_index

    from assistant.pipeline import Assistant

    build_api_index(tmp_path)
    assistant = Assistant.from_settings(api_settings(tmp_path))
    gate = threading.Event()
    real_warm_up = assistant.warm_up

    def slow_warm_up() -> None:
        gate.wait(10)
        real_warm_up()

    assistant.warm_up = slow_warm_up  # type: ignore[method-assign]
    with TestClient(create_app(api_settings(tmp_path), assistant)) as c:
        assert c.get("/healthz").status_code == 200
        assert_error(c.get("/readyz"), 503, "not_ready")
        gate.set()
        deadline = time.time() + 10
        while c.get("/readyz").status_code != 200 and time.time() < deadline:
            time.sleep(0.05)
        assert c.get("/readyz").status_code == 200
        assert c.post("/v1/chat", json=Q).status_code == 200
