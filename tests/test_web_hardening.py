"""Issue 15 in Chromium: a kiosk is provisioned once (``/kiosk?key=…``), never served its key (finding 7);
``/docs`` renders from local assets under the page CSP (finding 13)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _api_support import build_api_index
from web_fixtures import CHROMIUM, serve_py

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]

KEY = "kiosk-device-key-0123456789"


@pytest.fixture(scope="module")
def keyed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("kiosk_keyed")
    env = {
        "ASSISTANT_INDEX_DIR": str(build_api_index(tmp)),
        "ASSISTANT_KNOWLEDGE_DIR": str(tmp / "knowledge"),
        "ASSISTANT_CACHE_DIR": str(tmp / "cache"),
        "ASSISTANT_EMBEDDER__NAME": "hash",
        "ASSISTANT_EMBEDDER__DIM": "256",
        "ASSISTANT_API__SESSION_DB": str(tmp / "sessions.sqlite3"),
        "ASSISTANT_API__KIOSK_KEYS": json.dumps([KEY]),
    }
    with serve_py(env, startup_timeout_s=60) as base:
        yield base


def test_kiosk_key_is_entered_once_and_kept_on_the_device(browser: Any, keyed_url: str) -> None:
    # ``browser``: the session's one Chromium (conftest); Playwright's sync API runs once per process.
    context = browser.new_context(locale="zh-CN")
    page: Any = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(keyed_url + "/kiosk?key=" + KEY)
        assert KEY not in page.content() and KEY not in page.url  # taken off the address bar
        page.goto(keyed_url + "/kiosk")  # later visits: the device remembers its key
        with page.expect_response(lambda r: r.url.endswith("/v1/chat")) as chat:
            page.get_by_test_id("kiosk-category").first.click()
        assert chat.value.status == 200, chat.value.status
    finally:
        context.close()


def test_docs_render_offline_under_the_csp(browser: Any, keyed_url: str) -> None:
    page: Any = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(keyed_url) else None)
    try:
        page.goto(keyed_url + "/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        assert page.locator(".opblock").count() >= 9
        assert not outside, outside
    finally:
        page.close()
