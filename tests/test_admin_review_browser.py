"""The 问答 / 会话 / 洞察 / 审计 console pages in headless Chromium against the real app (hash embedder,
SQLite state database): create a curated answer and get it in chat, review an exchange with the keyboard,
turn it into a curated answer in one click, export CSV, read insights and the audit log, at 200 % zoom.

Screenshots go to ``SCREENSHOTS_DIR`` only when it is set (e.g. ``SCREENSHOTS_DIR=docs/screenshots``).
"""

from __future__ import annotations

import os
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
EDITOR = "editor-key-0123456789"
REVIEWER = "reviewer-key-0123456789"
SHOTS = os.environ.get("SCREENSHOTS_DIR")


@pytest.fixture(scope="module")
def base(api_assistant: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from assistant.api import create_app

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = api_settings(
        tmp_path_factory.mktemp("console"),
        admin_keys=[ADMIN],
        editor_keys=[EDITOR],
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


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    p = context.new_page()
    yield p
    context.close()


def login(page: Any, base: str, path: str, key: str) -> None:
    page.goto(base + path)
    page.fill("#adm-key", key)
    page.keyboard.press("Enter")
    expect(page.locator("#adm-user")).to_contain_text("当前角色")


def ask(base: str, question: str) -> dict[str, Any]:
    res = httpx.post(base + "/v1/chat", json={"question": question}, headers={"X-API-Key": ADMIN}, timeout=30)
    assert res.status_code == 200, res.text
    return res.json()  # type: ignore[no-any-return]


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def no_horizontal_scroll(page: Any) -> bool:
    return bool(
        page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
    )


def test_create_a_curated_answer_then_chat_gets_it(page: Any, base: str) -> None:
    question = "居住证需要哪些材料？"
    assert ask(base, question)["answered_by"] != "curated"
    login(page, base, "/admin/curated", EDITOR)
    page.get_by_label("问题（每行一个问法）").fill(question + "\n办居住证要带什么")
    page.get_by_label("答复内容").fill("请携带居民身份证、居住证明（房屋租赁合同）和近期照片。")
    page.get_by_label("依据文档编号").fill("guide-residence")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#adm-status")).to_contain_text("已创建人工答案")
    expect(page.locator("#curated-list table")).to_contain_text(question)
    shot(page, "admin-curated.png")
    ans = ask(base, question)
    assert ans["answered_by"] == "curated" and ans["citations"][1]["doc_id"] == "guide-residence"


def test_review_an_exchange_with_the_keyboard_and_fix_it_in_one_click(
    page: Any, base: str, browser: Any
) -> None:
    asked = ask(base, "社保卡丢失了怎么补办？")
    login(page, base, "/admin/conversations", REVIEWER)
    row = page.locator("#ex-list tbody tr", has_text="社保卡丢失了怎么补办").first
    row.get_by_role("button", name="查看").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#ex-detail")).to_be_focused()
    expect(page.locator("#ex-detail")).to_contain_text("检索结果与得分")
    page.locator("#verdict-needs_curated").focus()
    page.keyboard.press("Space")
    page.get_by_label("备注").fill("应补充挂失电话")
    page.get_by_label("备注").press("Tab")
    page.keyboard.press("Enter")  # the submit button
    expect(page.locator("#adm-status")).to_contain_text("需人工答案")
    shot(page, "admin-conversations.png")
    audit = httpx.get(
        base + "/v1/admin/audit", params={"action": "exchange.review"}, headers={"X-API-Key": ADMIN}
    ).json()
    assert audit["items"][0]["target"] == f"exchange:{asked['request_id']}"
    # an editor opens the same exchange and turns it into a curated answer
    editor = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    login(editor, base, "/admin/conversations", EDITOR)
    editor.locator("#ex-list tbody tr", has_text="社保卡丢失了怎么补办").first.get_by_role(
        "button", name="查看"
    ).click()
    editor.get_by_role("link", name="改为人工答案").click()
    expect(editor.locator("#adm-status")).to_contain_text("已根据会话预填")
    expect(editor.get_by_label("问题（每行一个问法）")).to_have_value("社保卡丢失了怎么补办？")
    expect(editor.get_by_label("依据文档编号")).to_have_value("faq-social")
    editor.get_by_label("答复内容").fill("社保卡丢失后请先拨打12333挂失，再携带居民身份证到服务网点补办。")
    editor.get_by_role("button", name="保存").click()
    expect(editor.locator("#adm-status")).to_contain_text("已创建人工答案")
    editor.context.close()
    assert ask(base, "社保卡丢失了怎么补办？")["answered_by"] == "curated"
    created = httpx.get(
        base + "/v1/admin/audit", params={"action": "curated.create"}, headers={"X-API-Key": ADMIN}
    ).json()
    assert created["items"][0]["after"]["from_exchange"] == asked["request_id"]


def test_export_csv_from_the_conversations_page(page: Any, base: str) -> None:
    ask(base, "护照怎么办理")
    login(page, base, "/admin/conversations", REVIEWER)
    expect(page.locator("#ex-list table")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("button", name="导出 CSV").click()
    path = info.value.path()
    text = Path(path).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("request_id,at,channel,question") and "护照怎么办理" in text


def test_insights_and_audit_pages_readable_at_200_percent_zoom(browser: Any, base: str) -> None:
    for q in ("今天天气怎么样", "红烧肉怎么做", "居住证怎么办理"):
        ask(base, q)
    # 200 % zoom of a 1280 px window: the same page laid out in 640 CSS pixels at twice the pixel density
    context = browser.new_context(
        viewport={"width": 640, "height": 900}, device_scale_factor=2, locale="zh-CN"
    )
    page = context.new_page()
    login(page, base, "/admin/insights", REVIEWER)
    expect(page.locator("#insights-out svg[role=img]").first).to_be_visible()
    assert page.locator("#insights-out svg title").count() >= 5
    expect(page.locator("#insights-out")).to_contain_text("答复方式占比")
    assert no_horizontal_scroll(page)
    shot(page, "admin-insights.png")
    page.goto(base + "/admin/audit")
    expect(page.locator("#adm-page")).to_contain_text("只有管理员")
    context.close()
    context = browser.new_context(
        viewport={"width": 640, "height": 900}, device_scale_factor=2, locale="zh-CN"
    )
    page = context.new_page()
    login(page, base, "/admin/audit", ADMIN)
    expect(page.locator("#audit-list table")).to_contain_text("exchange.review")
    assert no_horizontal_scroll(page)
    page.get_by_label("操作", exact=True).fill("curated.create")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#audit-list tbody tr").first).to_contain_text("curated.create")
    shot(page, "admin-audit.png")
    for path, ready in (
        ("/admin/conversations", "#ex-list table"),
        ("/admin/curated", "#curated-list table"),
    ):
        page.goto(base + path)
        expect(page.locator(ready)).to_be_visible()
        assert no_horizontal_scroll(page), path
    context.close()
