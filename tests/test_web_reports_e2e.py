"""The must-hold checks of issue 17 against the real server (``python serve.py``, hash embedder):
the AI label is visible in the widget and the kiosk, and a report filed from the widget gets a
tracking number whose status is readable by that number (the reports backend: ``assistant/storage``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _api_support import serve_py_env
from web_fixtures import CHROMIUM, serve_py

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
]
PANEL = 'iframe[title="政务智能助手"]'
LABEL = "本回答由人工智能生成，仅供参考，请以官方发布为准"


@pytest.fixture(scope="module")
def real_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_py(serve_py_env(tmp_path_factory.mktemp("reports_e2e"))) as base:
        yield base


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    p = context.new_page()
    p.set_default_timeout(30_000)
    yield p
    context.close()


def test_widget_report_gets_a_tracking_number_readable_by_that_number(page: Any, real_app: str) -> None:
    pytest.importorskip("assistant.api.routes.reports", reason="the reports backend is not in this tree yet")
    page.goto(real_app + "/")
    page.get_by_test_id("widget-launcher").click()
    frame = page.frame_locator(PANEL)
    frame.get_by_test_id("widget-input").fill("办理普通护照需要什么材料？")
    frame.get_by_test_id("widget-input").press("Enter")
    answer = frame.get_by_test_id("widget-answer").first
    answer.and_(frame.locator('[data-status="done"]')).wait_for()
    assert answer.get_by_test_id("ai-label").inner_text() == LABEL
    answer.get_by_test_id("report").click()
    answer.get_by_label("错误").check()
    answer.get_by_test_id("report-note").fill("材料清单与窗口说的不一致，电话13812345678")
    with page.expect_response(lambda r: r.url.endswith("/v1/reports")) as filed:
        answer.get_by_test_id("report-submit").click()
    assert filed.value.status == 201
    number = answer.get_by_test_id("report-tracking").inner_text()
    assert re.fullmatch(r"\d{8}-[0-9A-Z]{10}", number)
    # the status by that number, through the widget and through the API
    frame.get_by_test_id("report-lookup-open").click()
    frame.get_by_test_id("report-lookup-input").fill(number)
    frame.get_by_test_id("report-lookup-input").press("Enter")
    assert frame.get_by_test_id("report-status").inner_text() == "办理状态：待处理"
    status = httpx.get(f"{real_app}/v1/reports/{number}", timeout=10).json()
    assert status["status"] == "待处理" and status["deadline"]


def test_kiosk_shows_the_label_on_a_real_answer(page: Any, real_app: str) -> None:
    page.goto(real_app + "/kiosk")
    page.locator("#k-q").fill("普通护照怎么办理")
    page.locator("#k-search button[type=submit]").click()
    label = page.get_by_test_id("kiosk-answer").get_by_test_id("ai-label")
    label.wait_for()
    assert label.is_visible() and label.inner_text() == LABEL
