"""The 安全词库 console page in headless Chromium against the real app: an admin opens a list with the
keyboard, adds a word to its operator file, saves, tries a text, and a citizen's question with the
word is screened; a reviewer sees the lists read-only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import expect
from web_fixtures import CHROMIUM, free_port

from tests._api_support import api_settings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]

ADMIN = "admin-key-0123456789"
REVIEWER = "reviewer-key-0123456789"
WORD = "青铜独角兽"


@pytest.fixture(scope="module")
def base(api_assistant: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from assistant.api import create_app

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = api_settings(
        tmp_path_factory.mktemp("screening_console"),
        admin_keys=[ADMIN],
        reviewer_keys=[REVIEWER],
        port=port,
        allowed_origins=[origin],
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, api_assistant), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "console test server did not start"
        time.sleep(0.05)
    yield origin
    server.should_exit = True
    thread.join(timeout=10)
    for p in Path(api_assistant.settings.screening.lexicon_dir).glob("*.txt"):
        p.unlink()
    api_assistant.moderator.screener.warm_up()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    p = context.new_page()
    yield p
    context.close()


def login(page: Any, base: str, key: str) -> None:
    page.goto(base + "/admin/screening")
    page.fill("#adm-key", key)
    page.keyboard.press("Enter")
    expect(page.locator("#adm-user")).to_contain_text("当前角色")


def test_an_admin_adds_a_word_and_it_is_screened(page: Any, base: str) -> None:
    login(page, base, ADMIN)
    expect(page.locator("nav.adm-nav a[aria-current=page]")).to_have_text("安全词库")
    page.locator("button[data-list=crime]").focus()
    page.keyboard.press("Enter")
    area = page.locator("#screening-text")
    expect(area).to_be_focused()
    expect(page.locator("#screening-edit-title")).to_contain_text("违法犯罪")
    area.fill(f"{WORD}\n")
    page.locator("#screening-save").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#adm-status")).to_contain_text("已保存词库 crime")
    page.fill("#screening-test textarea", f"哪里有{WORD}")
    page.locator("#screening-try").click()
    expect(page.locator("#screening-test-result")).to_contain_text(WORD)
    res = httpx.post(
        base + "/v1/chat", json={"question": f"{WORD}怎么办理"}, headers={"X-API-Key": ADMIN}, timeout=30
    )
    assert res.json()["answered_by"] == "screened"


def test_a_reviewer_reads_but_cannot_save(page: Any, base: str) -> None:
    login(page, base, REVIEWER)
    page.locator("button[data-list=allow]").click()
    expect(page.locator("#screening-text")).to_have_attribute("readonly", "")
    expect(page.locator("#screening-save")).to_have_count(0)
    expect(page.locator("#screening-edit")).to_contain_text("只有管理员可以修改词库")
