"""The portal widget, kiosk page and demo portal driven in headless Chromium (Debian's /usr/bin/chromium).

Two servers on loopback: a scripted chat API (fixed replies, so clarify/hand-off/error states are
deterministic) and the real app over the mini knowledge base with the hash embedder (the must-hold
checks: streamed answer with a citation, large font, kiosk category, no request leaves 127.0.0.1).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from web_fixtures import (
    AXE,
    CHROMIUM,
    SCREENSHOTS,
    axe_violations,
    scripted_api,
    serve,
    serve_py,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]

PANEL = 'iframe[title="政务智能助手"]'
LOCAL = re.compile(r"^(http://127\.0\.0\.1(:\d+)?/|data:|blob:|about:)")


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[str, Any]]:
    app = scripted_api()
    with serve(app) as base:
        yield base, app


@pytest.fixture
def api(scripted: tuple[str, Any]) -> Iterator[tuple[str, Any]]:
    base, app = scripted
    app.state.down = False
    app.state.requests.clear()
    app.state.feedback.clear()
    app.state.deleted.clear()
    yield base, app


@pytest.fixture
def requests_seen() -> list[str]:
    return []


def _new_page(browser: Any, requests_seen: list[str], **context_kw: Any) -> Any:
    context = browser.new_context(
        locale="zh-CN", **({"viewport": {"width": 1280, "height": 860}} | context_kw)
    )
    page = context.new_page()
    page.on("request", lambda r: requests_seen.append(r.url))
    page.set_default_timeout(30_000)  # generous: CI machines may be busy
    return page


@pytest.fixture
def page(browser: Any, requests_seen: list[str]) -> Iterator[Any]:
    p = _new_page(browser, requests_seen)
    yield p
    p.context.close()
    outside = [u for u in requests_seen if not LOCAL.match(u)]
    assert not outside, f"requests left 127.0.0.1: {outside}"


def open_widget(page: Any, url: str) -> Any:
    page.goto(url)
    launcher = page.get_by_test_id("widget-launcher")
    launcher.click()
    frame = page.frame_locator(PANEL)
    frame.get_by_test_id("widget-input").wait_for()
    return frame


def ask(frame: Any, question: str) -> Any:
    """Types a question, presses Enter, waits for the answer to finish; returns the last answer."""
    before = frame.get_by_test_id("widget-answer").count()
    frame.get_by_test_id("widget-input").fill(question)
    frame.get_by_test_id("widget-input").press("Enter")
    answer = frame.get_by_test_id("widget-answer").nth(before)
    answer.and_(frame.locator('[data-status="done"], [data-status="error"]')).wait_for()
    return answer


def panel_frame(page: Any) -> Any:
    """The widget iframe as a Playwright Frame (for wait_for_function inside it)."""
    return next(f for f in page.frames if "/widget/panel.html" in f.url)


def font_px(locator: Any) -> float:
    return float(locator.evaluate("el => parseFloat(getComputedStyle(el).fontSize)"))


# --- the widget against the scripted API -----------------------------------------------------------


def test_widget_streams_answer_with_citations_card_and_feedback(page: Any, api: tuple[str, Any]) -> None:
    base, app = api
    app.state.delay_s = 0.08
    page.goto(base + "/")
    assert not page.locator(PANEL).is_visible(), "the panel must not pop up by itself"
    frame = open_widget(page, base + "/")
    assert frame.locator('[role="dialog"]').count() == 1
    assert frame.locator('[role="log"][aria-live="polite"]').count() == 1

    frame.get_by_test_id("widget-input").fill("居住证怎么办理？")
    frame.get_by_test_id("widget-send").click()
    answer = frame.get_by_test_id("widget-answer").first
    # Streaming: part of the text is on screen while the answer is still arriving.
    panel_frame(page).wait_for_function(
        "() => { const a = document.querySelector('[data-testid=widget-answer]');"
        " return a && a.dataset.status === 'streaming' && a.querySelector('.bubble p') && a.querySelector('.typing'); }"
    )
    answer.and_(frame.locator('[data-status="done"]')).wait_for()
    assert "居住地连续居住满半年" in answer.inner_text()

    sent = app.state.requests[-1]["body"]
    assert sent["stream"] is True and sent["channel"] == "web" and sent["question"] == "居住证怎么办理？"

    cites = answer.get_by_test_id("widget-citation")
    assert cites.count() == 2
    assert "XX市居住证管理办法" in cites.first.inner_text()
    assert "X府〔2023〕12号" in cites.first.inner_text() and "2023-05-10" in cites.first.inner_text()
    ref = answer.locator("a.ref").first
    assert ref.get_attribute("href") == "#" + cites.first.get_attribute("id")

    # The materials checklist can be ticked; progress is counted.
    answer.get_by_label("近期一寸免冠照片").check()
    assert "已备齐 1 / 4 项材料" in answer.locator(".progress").inner_text()
    assert answer.get_by_role("link", name="在线办理").get_attribute("href") == CARD_URL
    # Printing prints the card alone (window.print is stubbed: headless has no print dialog).
    panel = panel_frame(page)
    panel.evaluate(
        "() => { window.__printed = []; window.print = () => window.__printed.push("
        "[document.body.className, document.querySelectorAll('.print-target').length]); }"
    )
    answer.get_by_role("button", name="打印材料清单").click()
    assert panel.evaluate("() => window.__printed") == [["printing", 1]]
    panel.wait_for_function("() => !document.body.classList.contains('printing')")  # cleaned up after
    panel.evaluate(
        "() => { document.body.classList.add('printing');"
        " document.querySelector('.card').classList.add('print-target'); }"
    )
    page.emulate_media(media="print")
    visibility = "el => getComputedStyle(el).visibility"
    assert answer.locator(".card").evaluate(visibility) == "visible"
    assert frame.get_by_test_id("widget-input").evaluate(visibility) == "hidden"
    assert answer.get_by_test_id("widget-citation").first.evaluate(visibility) == "hidden"
    page.emulate_media(media="screen")

    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")):  # the thanks shows before it lands
        answer.get_by_role("button", name="有帮助", exact=True).click()
    frame.get_by_text("感谢您的反馈").wait_for()
    assert len(app.state.feedback) == 1
    assert app.state.feedback[0]["rating"] == "up" and app.state.feedback[0]["request_id"]


CARD_URL = "http://127.0.0.1/online/juzhuzheng"


def test_large_font_contrast_and_conversation_persist(page: Any, api: tuple[str, Any]) -> None:
    base, app = api
    frame = open_widget(page, base + "/")
    answer = ask(frame, "居住证怎么办理？")
    text = answer.locator(".bubble p").first
    small = font_px(text)
    toggle = frame.get_by_test_id("widget-large-font")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert font_px(text) >= small * 1.25
    page.locator(PANEL).evaluate(  # the panel widens too
        "el => new Promise(ok => { const t = () => el.getBoundingClientRect().width > 500 ? ok() : setTimeout(t, 50); t(); })"
    )

    page.reload()
    page.get_by_test_id("widget-launcher").click()
    frame = page.frame_locator(PANEL)
    expect(frame.get_by_test_id("widget-large-font")).to_have_attribute("aria-pressed", "true")
    restored = frame.get_by_test_id("widget-answer")
    expect(restored).to_have_count(1)
    assert "居住地连续居住满半年" in restored.first.inner_text()
    ask(frame, "还需要什么材料？")
    assert app.state.requests[-1]["body"]["session_id"]  # the stored session continues
    session_id = app.state.requests[-1]["body"]["session_id"]

    frame.get_by_role("button", name="高对比度").click()
    expect(frame.locator("body")).to_have_css("background-color", "rgb(0, 0, 0)")
    frame.get_by_role("button", name="高对比度").click()

    with page.expect_response(lambda r: "/v1/sessions/" in r.url):  # sent in the background
        frame.get_by_role("button", name="新对话").click()
    expect(frame.get_by_test_id("widget-answer")).to_have_count(0)
    frame.get_by_role("button", name="居住证怎么办理？").wait_for()  # starter questions are back
    assert app.state.deleted == [session_id]
    frame.get_by_test_id("widget-large-font").click()  # leave the stored preference off


def test_clarifying_choice_sends_the_option_question(page: Any, api: tuple[str, Any]) -> None:
    base, app = api
    frame = open_widget(page, base + "/")
    answer = ask(frame, "医保怎么办？")
    choice = answer.get_by_role("button", name="医保报销")
    choice.click()
    second = frame.get_by_test_id("widget-answer").nth(1)
    second.and_(frame.locator('[data-status="done"]')).wait_for()
    assert app.state.requests[-1]["body"]["question"] == "医保报销需要什么材料？"
    assert answer.get_by_role("button", name="城乡居民医保参保").is_disabled()


def test_handoff_shows_tappable_hotline_and_department_phone(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    frame = open_widget(page, base + "/")
    answer = ask(frame, "我要投诉我家楼下餐馆噪音扰民，希望尽快处理")
    assert answer.locator('a[href="tel:12345"]').count() == 1
    assert answer.locator('a[href="tel:020-88886666"]').inner_text().startswith("XX市生态环境局")


def test_api_down_shows_error_then_retry_works(page: Any, api: tuple[str, Any]) -> None:
    base, app = api
    app.state.down = True
    frame = open_widget(page, base + "/")
    answer = ask(frame, "居住证怎么办理？")
    alert = answer.get_by_role("alert")
    assert "稍后重试" in alert.inner_text()
    app.state.down = False
    alert.get_by_role("button", name="重试").click()
    done = frame.get_by_test_id("widget-answer").first
    done.and_(frame.locator('[data-status="done"]')).wait_for()
    assert frame.get_by_test_id("widget-answer").count() == 1
    assert done.get_by_test_id("widget-citation").count() == 2


def test_keyboard_only_use(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    page.goto(base + "/")
    launcher = page.get_by_test_id("widget-launcher")
    launcher.focus()
    page.keyboard.press("Enter")
    frame = page.frame_locator(PANEL)
    frame.get_by_test_id("widget-input").wait_for()
    panel_frame(page).wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'zw-input'"
    )
    page.keyboard.type("社保卡丢了怎么补办？")
    page.keyboard.press("Enter")
    frame.locator('[data-testid="widget-answer"][data-status="done"]').wait_for()
    page.keyboard.press("Escape")
    page.locator(PANEL).wait_for(state="hidden")
    launcher.wait_for(state="visible")
    assert launcher.evaluate("el => el.getRootNode().activeElement === el")


def test_widget_survives_hostile_host_css(page: Any, api: tuple[str, Any]) -> None:
    base, app = api
    app.state.host_html = (
        "<!doctype html><html><head><style>"
        "*:not(html) { display:none !important; font-size:2px !important; color:#0f0 !important;"
        " opacity:.1 !important; visibility:hidden !important; position:static !important; }"
        "iframe, button, div { width:1px !important; height:1px !important; transform:scale(0) !important; }"
        "</style></head><body><p>host</p>"
        f'<script src="{base}/widget/embed.js" data-api-key="k-test" data-region="XX市" async></script>'
        "</body></html>"
    )
    frame = open_widget(page, base + "/host-page")
    panel = page.locator(PANEL).bounding_box()
    assert panel and panel["width"] > 300 and panel["height"] > 400
    answer = ask(frame, "居住证怎么办理？")
    assert font_px(answer.locator(".bubble p").first) >= 14
    sent = app.state.requests[-1]
    assert sent["key"] == "k-test" and sent["body"]["region"] == "XX市"
    page.keyboard.press("Escape")
    page.get_by_test_id("widget-launcher").wait_for(state="visible")
    box = page.get_by_test_id("widget-launcher").bounding_box()
    assert box and box["width"] > 40 and box["height"] > 40
    assert font_px(page.get_by_test_id("widget-launcher")) >= 14


def test_widget_fits_a_360px_phone(browser: Any, api: tuple[str, Any], requests_seen: list[str]) -> None:
    base, _ = api
    page = _new_page(browser, requests_seen, viewport={"width": 360, "height": 740}, has_touch=True)
    try:
        frame = open_widget(page, base + "/")
        ask(frame, "居住证怎么办理？")
        panel = page.locator(PANEL).bounding_box()
        assert panel and panel["x"] >= 0 and panel["x"] + panel["width"] <= 360
        overflow = frame.locator("body").evaluate(
            "el => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
    finally:
        page.context.close()


def test_kiosk_category_tap_and_idle_reset(page: Any, api: tuple[str, Any]) -> None:
    base, app = api
    page.goto(base + "/kiosk?idle=3")
    categories = page.get_by_test_id("kiosk-category")
    assert categories.count() == 8
    assert categories.first.bounding_box()["height"] >= 64  # touch target
    categories.filter(has_text="居住证").click()
    answer = page.get_by_test_id("kiosk-answer")
    answer.get_by_text("居住地连续居住满半年").wait_for()
    assert "近期一寸免冠照片" in answer.inner_text()
    assert "[1]" not in answer.inner_text()
    sent = app.state.requests[-1]["body"]
    assert sent["channel"] == "kiosk" and sent["question"] == "居住证怎么办理？"
    # Idle for 3 s: the screen and the session are cleared.
    page.get_by_role("heading", name="请点击您要咨询的事项").wait_for(timeout=8_000)
    assert not answer.is_visible() and answer.inner_text() == ""
    assert len(app.state.deleted) == 1


# --- the must-hold checks against the real app -----------------------------------------------------


@pytest.fixture(scope="module")
def real_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python serve.py`` over the mini knowledge base, indexed here with the hash embedder."""
    from conftest import make_settings

    from assistant.ingest.build import ingest

    tmp = tmp_path_factory.mktemp("web_real")
    settings = make_settings(tmp)
    ingest(settings, progress=False)
    env = {
        "ASSISTANT_KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CACHE_DIR": str(settings.cache_dir),
        "ASSISTANT_EMBEDDER__NAME": settings.embedder.name,
        "ASSISTANT_EMBEDDER__DIM": str(settings.embedder.dim),
        "ASSISTANT_TODAY": settings.today,
        "ASSISTANT_API__SESSION_DB": str(settings.api.session_db),
    }
    with serve_py(env) as base:
        yield base


def test_demo_widget_real_answer_citation_feedback_large_font(
    page: Any, real_app_url: str, requests_seen: list[str]
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    frame = open_widget(page, real_app_url + "/")
    frame.locator(".starters").wait_for()
    with page.expect_response(lambda r: r.url.endswith("/v1/chat")) as chat:
        answer = ask(frame, "居住证怎么办理？")
    assert chat.value.headers["content-type"].startswith("text/event-stream")
    assert answer.get_attribute("data-status") == "done", answer.inner_text()
    assert answer.get_by_test_id("widget-citation").count() >= 1
    assert len(answer.locator(".bubble").inner_text()) > 10
    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")) as fb:
        answer.get_by_role("button", name="有帮助", exact=True).click()
    assert fb.value.ok
    panel_frame(page).evaluate(
        "() => { document.getElementById('zw-log').style.scrollBehavior = 'auto';"
        " document.getElementById('zw-log').scrollTop = 0; }"
    )
    page.screenshot(path=str(SCREENSHOTS / "widget.png"))

    text = answer.locator(".bubble p").first
    small = font_px(text)
    frame.get_by_test_id("widget-large-font").click()
    assert font_px(text) > small
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "widget-large-font.png"))
    frame.get_by_test_id("widget-large-font").click()
    assert any(u.endswith("/v1/chat") for u in requests_seen)

    handoff = ask(frame, "我要投诉我家楼下餐馆噪音扰民，希望尽快处理")
    assert handoff.locator('a[href="tel:12345"]').count() == 1, handoff.inner_text()
    if AXE.exists():  # real answers: card, citations, hand-off
        assert axe_violations(panel_frame(page)) == []


def test_kiosk_real_category_answer_with_qr(page: Any, real_app_url: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(real_app_url + "/kiosk")
    page.get_by_test_id("kiosk-category").filter(has_text="居住证").click()
    answer = page.get_by_test_id("kiosk-answer")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=kiosk-answer]').getAttribute('aria-busy') === 'false'"
        " && document.querySelector('[data-testid=kiosk-answer]').innerText.length > 20"
    )
    assert page.locator(".k-error").count() == 0, answer.inner_text()
    qr = answer.locator(".k-qr img").first
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOTS / "kiosk.png"))
    if AXE.exists():  # the real answer: QR codes, service card, sources
        assert axe_violations(page.main_frame) == []


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng (apt-get install espeak-ng)"
)
def test_read_aloud_without_browser_voices_plays_the_servers_espeak_audio(
    page: Any, real_app_url: str
) -> None:
    page.add_init_script("if (window.speechSynthesis) window.speechSynthesis.getVoices = () => [];")
    frame = open_widget(page, real_app_url + "/")
    answer = ask(frame, "居住证怎么办理？")
    assert answer.get_attribute("data-status") == "done", answer.inner_text()
    speak = answer.get_by_role("button", name="朗读这条回答")
    with page.expect_response(lambda r: r.url.endswith("/v1/speech")) as res:
        speak.click()
    assert res.value.status == 200 and res.value.headers["content-type"] == "audio/wav"
    assert int(res.value.headers["content-length"]) > 10_000  # seconds of 16-bit speech, not a stub
    expect(speak).to_have_attribute("aria-pressed", "true")
    assert frame.locator("#zw-status").inner_text() == ""  # no failure message
