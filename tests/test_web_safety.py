"""The AI-content label and the 投诉/举报 entry in the widget and the kiosk, in headless Chromium.

Against the scripted API (``web_fixtures.scripted_api``: fixed answers, scripted reports): the label
is visible on every answer (human-reviewed answers say so), the report action files the reason and
note and shows the tracking number, and the lookup form reads a status by that number; axe audits
the open report forms. The end-to-end check against the real reports backend is in
``test_web_reports_e2e`` once the storage layer is in the tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from web_fixtures import AXE, CHROMIUM, axe_violations, scripted_api, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]
PANEL = 'iframe[title="政务智能助手"]'
LABEL = "本回答由人工智能生成，仅供参考，请以官方发布为准"


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[str, Any]]:
    app = scripted_api()
    with serve(app) as base:
        yield base, app


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    p = context.new_page()
    p.set_default_timeout(30_000)
    yield p
    context.close()


def open_widget(page: Any, base: str) -> Any:
    page.goto(base + "/")
    page.get_by_test_id("widget-launcher").click()
    frame = page.frame_locator(PANEL)
    frame.get_by_test_id("widget-input").wait_for()
    return frame


def ask(frame: Any, question: str) -> Any:
    before = frame.get_by_test_id("widget-answer").count()
    frame.get_by_test_id("widget-input").fill(question)
    frame.get_by_test_id("widget-input").press("Enter")
    answer = frame.get_by_test_id("widget-answer").nth(before)
    answer.and_(frame.locator('[data-status="done"]')).wait_for()
    return answer


def test_widget_labels_every_answer_and_curated_ones_as_reviewed(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    frame = open_widget(page, base)
    first = ask(frame, "居住证怎么办理？")
    label = first.get_by_test_id("ai-label")
    assert label.is_visible() and label.inner_text() == LABEL
    assert label.get_attribute("data-ai-generated") == "true"
    curated = ask(frame, "审核过的答案")
    assert curated.get_by_test_id("ai-label").inner_text() == "本答案经人工审核发布"
    assert curated.get_by_test_id("ai-label").get_attribute("data-ai-generated") == "false"
    page.reload()  # the label survives the conversation being restored from storage
    page.get_by_test_id("widget-launcher").click()
    assert page.frame_locator(PANEL).get_by_test_id("ai-label").first.inner_text() == LABEL


def test_widget_report_files_reason_and_note_and_shows_the_tracking_number(
    page: Any, api: tuple[str, Any]
) -> None:
    base, app = api
    frame = open_widget(page, base)
    answer = ask(frame, "居住证怎么办理？")
    answer.get_by_test_id("report").click()
    answer.get_by_label("过时").check()
    answer.get_by_test_id("report-note").fill("办理地点已经搬迁")
    if AXE.exists():
        panel = next(f for f in page.frames if "/widget/panel.html" in f.url)
        assert axe_violations(panel) == [], "widget with the report form open"
    answer.get_by_test_id("report-submit").click()
    tracking = answer.get_by_test_id("report-tracking")
    tracking.wait_for()
    number = tracking.inner_text()
    filed = app.state.reports[number]
    assert filed["reason"] == "过时" and filed["note"] == "办理地点已经搬迁" and filed["request_id"]
    # look it up by the number
    frame.get_by_test_id("report-lookup-open").click()
    frame.get_by_test_id("report-lookup-input").fill(number)
    frame.get_by_test_id("report-lookup-input").press("Enter")
    assert frame.get_by_test_id("report-status").inner_text() == "办理状态：待处理"
    frame.get_by_test_id("report-lookup-input").fill("20261129-NOSUCHNUMB")
    frame.get_by_test_id("report-lookup-input").press("Enter")
    frame.get_by_text("未找到该编号").wait_for()


def test_kiosk_label_report_and_lookup(page: Any, api: tuple[str, Any]) -> None:
    base, app = api
    page.goto(base + "/kiosk")
    page.get_by_test_id("kiosk-category").first.click()
    result = page.get_by_test_id("kiosk-answer")
    label = result.get_by_test_id("ai-label")
    label.wait_for()
    assert label.is_visible() and label.inner_text() == LABEL
    result.get_by_test_id("report").click()
    result.get_by_role("radio", name="不当内容").click()
    if AXE.exists():
        assert axe_violations(page.main_frame) == [], "kiosk with the report form open"
    result.get_by_test_id("report-submit").click()
    number = result.get_by_test_id("report-tracking").inner_text()
    assert app.state.reports[number]["reason"] == "不当内容"
    page.get_by_role("button", name="‹ 返回首页").click()
    page.get_by_test_id("report-lookup-input").fill(number)
    page.get_by_role("button", name="查询进度").click()
    assert page.get_by_test_id("report-status").inner_text() == "办理状态：待处理"
