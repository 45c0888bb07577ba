"""Issue 15 findings 1, 7, 8, 9, 11, 13 and 14, through the ASGI app (no server process)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from assistant.config import Settings

Q = {"question": "办理普通护照需要什么材料？"}
KIOSK, ADMIN, WIDGET = "kiosk-device-0123456789", "admin-0123456789abcdef", "widget-public-key"
PORTAL = "https://portal.example.gov.cn"


@pytest.fixture
def keyed(make_api_client: Callable[..., TestClient]) -> TestClient:
    return make_api_client(
        kiosk_keys=[KIOSK], admin_keys=[ADMIN], widget_keys=[WIDGET], allowed_origins=[PORTAL]
    )


# --- finding 1: /v1/qr is keyed, size-limited, and built off the event loop --------------------------


def test_qr_needs_a_key_and_refuses_long_urls(keyed: TestClient) -> None:
    url = "https://zwfw.example.gov.cn/guide/passport"
    assert keyed.get("/v1/qr", params={"url": url}).status_code == 401
    ok = keyed.get("/v1/qr", params={"url": url}, headers={"X-API-Key": KIOSK})
    assert ok.status_code == 200 and ok.text.lstrip().startswith("<svg")
    long = "https://example.gov.cn/" + "a" * 1000
    r = keyed.get("/v1/qr", params={"url": long}, headers={"X-API-Key": KIOSK})
    assert r.status_code == 422


def test_qr_is_built_in_a_worker_thread(api_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from assistant.api.routes import qr as qr_route

    threads: list[str] = []

    def fake_svg(url: str) -> bytes:
        threads.append(threading.current_thread().name)
        return b"<svg/>"

    monkeypatch.setattr(qr_route, "qr_svg", fake_svg)
    assert api_client.get("/v1/qr", params={"url": "https://example.gov.cn/x"}).status_code == 200
    assert threads and threads[0] != threading.main_thread().name
    assert not any(name.startswith("MainThread") for name in threads)


# --- finding 7: the kiosk page never carries a kiosk key ----------------------------------------------


def test_kiosk_page_does_not_hand_out_the_kiosk_key(keyed: TestClient) -> None:
    page = keyed.get("/kiosk")
    assert page.status_code == 200 and KIOSK not in page.text


# --- finding 8: empty or short keys refuse to start ---------------------------------------------------


@pytest.mark.parametrize(
    "api",
    [{"kiosk_keys": [""]}, {"admin_keys": ["short"]}, {"widget_keys": [" "]}, {"kiosk_keys": [" " + KIOSK]}],
)
def test_empty_or_short_keys_are_refused(api: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(api=api)  # type: ignore[arg-type]


# --- finding 9: origins are judged against the allow-list only ----------------------------------------


def test_host_header_does_not_vouch_for_an_origin(keyed: TestClient) -> None:
    evil = {"Host": "evil.example", "Origin": "http://evil.example"}
    r = keyed.post("/v1/chat", json=Q, headers={**evil, "X-API-Key": KIOSK})
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    pre = keyed.options("/v1/chat", headers={**evil, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers


def test_allowed_origin_preflight_without_credentials(keyed: TestClient) -> None:
    pre = keyed.options(
        "/v1/chat",
        headers={
            "Origin": PORTAL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == PORTAL
    assert "access-control-allow-credentials" not in pre.headers
    r = keyed.post("/v1/chat", json=Q, headers={"Origin": PORTAL, "X-API-Key": WIDGET})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == PORTAL
    assert "x-request-id" in r.headers["access-control-expose-headers"].lower()


# --- finding 11: odd static names are a quiet 404 -----------------------------------------------------


@pytest.mark.parametrize(
    "name", ["%00", "a%00b.js", "x" * 5000, ("d/" * 300) + "x.js", "..%2f..%2fconfig.py"]
)
def test_odd_static_names_are_404_without_a_traceback(
    api_client: TestClient, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        r = api_client.get("/widget/" + name)
    assert r.status_code == 404
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR or rec.exc_info]


def test_static_assets_revalidate_with_etag_and_head(api_client: TestClient) -> None:
    first = api_client.get("/widget/panel.js")
    assert first.status_code == 200 and first.headers["etag"]
    again = api_client.get("/widget/panel.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert api_client.head("/widget/panel.js").status_code == 200


# --- finding 13: security headers, framing, offline /docs, HEAD on pages -------------------------------


@pytest.mark.parametrize(
    "url", ["/", "/demo", "/kiosk", "/v1/models", "/healthz", "/widget/panel.html", "/docs"]
)
def test_every_response_has_security_headers(keyed: TestClient, url: str) -> None:
    r = keyed.get(url, headers={"X-API-Key": KIOSK})
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"]
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors" in csp and "'unsafe-inline'" not in csp.split("script-src")[-1].split(";")[0]


def test_only_the_widget_iframe_may_be_framed_by_allowed_portals(keyed: TestClient) -> None:
    panel = keyed.get("/widget/panel.html").headers["content-security-policy"]
    assert f"frame-ancestors 'self' {PORTAL}" in panel
    for url in ("/", "/kiosk", "/docs"):
        assert "frame-ancestors 'none'" in keyed.get(url).headers["content-security-policy"]


def test_docs_work_offline(api_client: TestClient) -> None:
    page = api_client.get("/docs").text
    assert "cdn." not in page and "//" not in page.replace("<!DOCTYPE", "")
    for src in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/init.js"):
        assert src in page or src.startswith("/docs/assets/swagger-ui.css")
        assert api_client.get(src).status_code == 200, src


@pytest.mark.parametrize("url", ["/", "/demo", "/kiosk", "/docs"])
def test_head_on_pages(api_client: TestClient, url: str) -> None:
    r = api_client.head(url)
    assert r.status_code == 200 and r.content == b""


# --- finding 14: a body that does not arrive in time is refused ---------------------------------------


def test_slow_body_is_cut_off(make_api_client: Callable[..., TestClient]) -> None:
    app = make_api_client(body_timeout_s=0.3).app
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not sent:
            sent.append({})
            return {"type": "http.request", "body": b'{"question": "', "more_body": True}
        await anyio.sleep(3600)  # the rest never comes
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat",
        "raw_path": b"/v1/chat",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }

    async def run() -> None:
        with anyio.fail_after(5):
            await app(scope, receive, send)

    # a thread of its own: the session's Playwright browser keeps an event loop running in this one
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, run).result()
    start = next(m for m in sent if m.get("type") == "http.response.start")
    assert start["status"] == 408


# --- schema drifts: the OpenAPI document tells the truth ----------------------------------------------


def test_openapi_states_the_enforced_limits_and_errors(make_api_client: Callable[..., TestClient]) -> None:
    client = make_api_client(max_question_chars=300)
    doc = client.get("/openapi.json").json()
    question = doc["components"]["schemas"]["ChatRequest"]["properties"]["question"]
    assert question["maxLength"] == 300
    q = next(p for p in doc["paths"]["/v1/search"]["get"]["parameters"] if p["name"] == "q")
    assert q["schema"]["maxLength"] == 300
    assert "401" in doc["paths"]["/metrics"]["get"]["responses"]
    assert "404" in doc["paths"]["/v1/chat"]["post"]["responses"]


def test_stream_must_be_a_real_boolean(api_client: TestClient) -> None:
    r = api_client.post("/v1/chat", json={**Q, "stream": 0})
    assert r.status_code == 422


def test_method_not_allowed_lists_every_method_of_the_path(api_client: TestClient) -> None:
    r = api_client.put("/v1/sessions/abcdefgh12345678")
    assert r.status_code == 405
    assert {"GET", "DELETE"} <= {m.strip() for m in r.headers["allow"].split(",")}


def test_every_keyed_operation_documents_401(make_api_client: Callable[..., TestClient]) -> None:
    doc = make_api_client().get("/openapi.json").json()
    open_paths = {"/healthz", "/readyz"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if path not in open_paths:
                assert "401" in operation["responses"], (method, path)


# --- finding 10: forwarded headers count only from configured proxies ----------------------------------


@pytest.mark.parametrize(("proxies", "limited"), [([], True), (["*"], False)])
def test_forwarded_for_counts_only_from_trusted_proxies(
    make_api_client: Callable[..., TestClient], proxies: list[str], limited: bool
) -> None:
    client = make_api_client(rate_limit_per_minute=2, trusted_proxies=proxies)
    codes = [
        client.get("/v1/models", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(4)
    ]
    assert (429 in codes) is limited, codes
