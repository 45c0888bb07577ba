"""The operator console in headless Chromium against the real app (mini knowledge base, hash embedder,
real ingest jobs): key login, upload with job progress, find the document, roll the index back;
a reviewer sees no upload form; keyboard operation and 200 % zoom; axe when installed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _admin_support import EDITOR, REVIEWER, STAFF_KEYS, knowledge_copy, policy_docx
from conftest import make_settings
from playwright.sync_api import expect
from web_fixtures import AXE, CHROMIUM, SCREENSHOTS, axe_violations, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def console_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from assistant.api import create_app
    from assistant.ingest.build import ingest
    from assistant.pipeline import Assistant

    tmp: Path = tmp_path_factory.mktemp("console")
    settings = make_settings(
        tmp,
        knowledge_dir=knowledge_copy(tmp),
        api={"session_db": tmp / "state.sqlite3", "rate_limit_per_minute": 0, "port": 0, **STAFF_KEYS},
    )
    ingest(settings)
    app = create_app(settings, Assistant.from_settings(settings))
    with serve(app) as base:
        # the page's own origin must be allowed (the default list names the configured port)
        app.state.settings.api.allowed_origins.append(base)
        deadline = time.monotonic() + 60
        while httpx.get(base + "/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield base


def _page(browser: Any, width: int = 1280, height: int = 900, scale: float = 1) -> Any:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": width, "height": height}, device_scale_factor=scale
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("dialog", lambda dialog: dialog.accept())  # confirm() before rollback
    return page


def _login(page: Any, base: str, key: str) -> None:
    page.goto(base + "/admin")
    expect(page).to_have_url(base + "/admin/documents")
    page.locator("#adm-key").fill(key)
    page.locator("#adm-key").press("Enter")
    expect(page.locator("#adm-user")).to_contain_text("当前角色")


def test_login_upload_and_rollback(browser: Any, console_base: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = _page(browser)
    try:
        page.goto(console_base + "/admin/documents")
        page.locator("#adm-key").fill("wrong-key-0123456789")
        page.get_by_role("button", name="登录").click()
        expect(page.locator("#adm-status")).to_contain_text("密钥无效")
        _login(page, console_base, EDITOR)
        expect(page.locator("#adm-user")).to_contain_text("编辑")
        assert page.evaluate("() => sessionStorage.getItem('zw-admin-key')") == EDITOR
        assert EDITOR not in page.url and page.context.cookies() == []
        expect(page.get_by_role("navigation", name="管理台导航").get_by_role("link")).to_have_text(
            ["文档", "问答", "会话", "洞察", "索引", "安全词库", "审计"]
        )

        page.locator("#up-file").set_input_files(
            files=[
                {"name": "充电桩补贴.docx", "mimeType": "application/octet-stream", "buffer": policy_docx()}
            ]
        )
        page.locator("#up-department").fill("市发展改革委")
        page.get_by_role("button", name="上传并更新索引").click()
        expect(page.locator("#adm-status")).to_contain_text("已完成", timeout=120_000)
        page.screenshot(path=str(SCREENSHOTS / "console-documents.png"), full_page=True)

        page.locator("#f-q").fill("充电桩补贴")
        page.get_by_role("button", name="查询").click()
        expect(page.get_by_test_id("doc-open").first).to_contain_text("充电桩安装补贴办法")
        page.get_by_test_id("doc-open").first.click()
        expect(page.locator("#doc-dialog")).to_contain_text("市发展改革委")
        expect(page.locator("#doc-dialog")).to_contain_text("上传")  # the version history
        page.keyboard.press("Escape")

        page.get_by_role("link", name="索引").click()
        expect(page).to_have_url(console_base + "/admin/index")
        rollback = page.get_by_test_id("rollback").first
        target = rollback.get_attribute("data-generation")
        rollback.click()
        expect(page.locator("#adm-status")).to_contain_text("已回滚到 " + str(target))
        current = httpx.get(
            console_base + "/v1/admin/index/generations", headers={"X-API-Key": EDITOR}
        ).json()
        assert next(g["name"] for g in current["items"] if g["current"]) == target
        page.screenshot(path=str(SCREENSHOTS / "console-index.png"), full_page=True)
        if AXE.exists():
            assert axe_violations(page.main_frame, iframes=False) == []
    finally:
        page.context.close()


def test_reviewer_reads_but_cannot_change(browser: Any, console_base: str) -> None:
    page = _page(browser)
    try:
        _login(page, console_base, REVIEWER)
        expect(page.locator("#adm-user")).to_contain_text("审核员")
        expect(page.get_by_test_id("doc-open").first).to_be_visible()
        assert page.locator("#doc-upload").count() == 0
        page.goto(console_base + "/admin/index")  # same tab: the key is still in sessionStorage
        expect(page.locator("#gens-title")).to_be_visible()
        assert page.get_by_test_id("rollback").count() == 0
        page.get_by_role("button", name="退出").click()
        expect(page.locator("#adm-login")).to_be_visible()
        assert page.evaluate("() => sessionStorage.getItem('zw-admin-key')") is None
    finally:
        page.context.close()


def test_keyboard_and_200_percent_zoom(browser: Any, console_base: str) -> None:
    page = _page(browser, 640, 450, scale=2)  # 1280×900 at 200 %
    try:
        page.goto(console_base + "/admin/documents")
        expect(page.locator("#adm-key")).to_be_focused()  # the login form takes the focus
        page.keyboard.type(EDITOR)
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("doc-open").first).to_be_visible()
        expect(page.locator("#adm-main")).to_be_focused()  # not lost with the login form
        page.keyboard.press("Shift+Tab")  # the last nav link comes right before <main>
        assert page.evaluate("() => document.activeElement.textContent") == "审计"
        page.reload()  # still logged in (sessionStorage); the skip link is the first stop
        expect(page.get_by_test_id("doc-open").first).to_be_visible()
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent") == "跳到主要内容"
        page.keyboard.press("Enter")
        expect(page.locator("#adm-main")).to_be_focused()
        sideways = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert sideways <= 0, f"{sideways} px of horizontal scrolling at 200 %"
        page.screenshot(path=str(SCREENSHOTS / "console-200pct.png"))
    finally:
        page.context.close()
