"""Accessibility of the widget, kiosk and portal in headless Chromium: axe-core (WCAG 2.1 A/AA) audits,
keyboard-only walks with focus checks, layouts at 200 % / 400 % zoom, elderly (large) mode, and
read-aloud without browser voices (audio from the server).

axe-core comes from npm (``make axe`` installs it into the ignored ``.cache/npm``). The scripted chat
API from ``web_fixtures`` keeps the content fixed; the last test reads aloud through the real app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from web_fixtures import AXE, CHROMIUM, SCREENSHOTS, axe_violations, scripted_api, serve

PANEL = 'iframe[title="政务智能助手"]'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]

needs_axe = pytest.mark.skipif(
    not AXE.exists(), reason="needs axe-core from npm: run `make axe` (npm install into .cache/npm)"
)

# A focused element is acceptable when it is a visible control or heading (not <body>, not hidden).
FOCUS_JS = """() => {
  const a = document.activeElement;
  if (!a || a === document.body || a === document.documentElement) return 'lost: ' + (a ? a.tagName : 'none');
  const r = a.getBoundingClientRect(), st = getComputedStyle(a);
  if (!(r.width > 0 && r.height > 0) || st.visibility === 'hidden') return 'invisible: ' + a.outerHTML.slice(0, 120);
  if (!/^(BUTTON|A|INPUT|TEXTAREA|SELECT|SUMMARY|H[1-6])$/.test(a.tagName)) return 'not a control: ' + a.outerHTML.slice(0, 120);
  return 'ok ' + a.tagName + ' ' + (a.getAttribute('aria-label') || a.textContent).trim().slice(0, 30);
}"""


# Stubs for the browser's speech: getVoices() returns VOICES, speak() records the text; plays of
# <audio> record the decoded duration (proof that real audio bytes arrived).
VOICES_JS = """
window.__spoken = []; window.__played = [];
if (window.speechSynthesis) {
  const voices = VOICES;
  window.speechSynthesis.getVoices = () => voices;
  window.speechSynthesis.speak = u => { window.__spoken.push(u.text); setTimeout(() => u.onend && u.onend(), 50); };
  window.SpeechSynthesisUtterance = function (text) { this.text = text; };
}
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  const el = this, p = play.call(this);
  p.then(() => window.__played.push(el.duration), e => window.__played.push('error ' + e.name));
  return p;
};
"""


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[str, Any]]:
    app = scripted_api()
    with serve(app) as base:
        yield base, app


@pytest.fixture
def api(scripted: tuple[str, Any]) -> tuple[str, Any]:
    base, app = scripted
    app.state.down = app.state.speech_down = False
    app.state.delay_s = 0.01
    for name in ("requests", "feedback", "deleted", "speech"):
        getattr(app.state, name).clear()
    return base, app


def new_page(browser: Any, width: int = 1280, height: int = 860, scale: float = 1, voices: str = "[]") -> Any:
    """A fresh context; ``voices`` is the JS list speechSynthesis.getVoices() returns (none by default)."""
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": width, "height": height},
        device_scale_factor=scale,
    )
    context.add_init_script(VOICES_JS.replace("VOICES", voices))
    page = context.new_page()
    page.set_default_timeout(30_000)  # generous: CI machines may be busy
    return page


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    p = new_page(browser)
    yield p
    p.context.close()


def panel(page: Any) -> Any:
    return next(f for f in page.frames if "/widget/panel.html" in f.url)


def open_widget(page: Any, url: str, keyboard: bool = False) -> Any:
    page.goto(url)
    launcher = page.get_by_test_id("widget-launcher")
    if keyboard:
        launcher.focus()
        page.keyboard.press("Enter")
    else:
        launcher.click()
    frame = page.frame_locator(PANEL)
    frame.get_by_test_id("widget-input").wait_for()
    panel(page).wait_for_function("() => document.activeElement && document.activeElement.id === 'zw-input'")
    return frame


def ask(page: Any, question: str) -> Any:
    """Types a question and presses Enter (keyboard only); waits for the answer; returns it."""
    frame = page.frame_locator(PANEL)
    before = frame.get_by_test_id("widget-answer").count()
    page.keyboard.type(question)
    page.keyboard.press("Enter")
    answer = frame.get_by_test_id("widget-answer").nth(before)
    answer.and_(frame.locator('[data-status="done"], [data-status="error"]')).wait_for()
    return answer


def assert_focus_ok(target: Any, where: str) -> str:
    state = target.evaluate(FOCUS_JS)
    assert state.startswith("ok"), f"{where}: focus is {state}"
    return state


def tab_until(page: Any, frame: Any, pattern: str, shift: bool = False, limit: int = 40) -> str:
    """Press Tab (or Shift+Tab) until the focused element's text or label matches ``pattern``."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if shift else "Tab")
        state = frame.evaluate(FOCUS_JS)
        if re.search(pattern, state):
            return state
    raise AssertionError(f"no focusable element matching {pattern!r} within {limit} presses")


# --- axe-core audits --------------------------------------------------------------------------------


@needs_axe
def test_axe_portal_and_widget_in_every_mode(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    page.goto(base + "/")
    assert axe_violations(page.main_frame, iframes=False) == [], "portal"
    frame = open_widget(page, base + "/")
    ask(page, "居住证怎么办理？")
    ask(page, "医保怎么办？")
    assert axe_violations(page.main_frame, iframes=False) == [], "portal with the widget open"
    assert axe_violations(panel(page)) == [], "widget"
    frame.get_by_test_id("widget-large-font").click()
    assert axe_violations(panel(page)) == [], "widget, large font"
    frame.get_by_role("button", name="高对比度").click()
    assert axe_violations(panel(page)) == [], "widget, large font + high contrast"
    frame.get_by_test_id("widget-large-font").click()
    assert axe_violations(panel(page)) == [], "widget, high contrast"
    frame.get_by_role("button", name="高对比度").click()


@needs_axe
def test_axe_kiosk_home_and_answer(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    page.goto(base + "/kiosk")
    assert axe_violations(page.main_frame) == [], "kiosk home"
    page.get_by_test_id("kiosk-category").first.click()
    page.get_by_role("button", name="朗读解答").wait_for()
    assert axe_violations(page.main_frame) == [], "kiosk answer"
    page.get_by_role("button", name="查看完整解答").click()
    assert axe_violations(page.main_frame) == [], "kiosk full answer"


# --- keyboard-only walks ---------------------------------------------------------------------------


def test_widget_keyboard_walk_keeps_focus_visible(page: Any, api: tuple[str, Any]) -> None:
    base, app = api
    frame = open_widget(page, base + "/", keyboard=True)
    p = panel(page)

    # A starter question chosen by keyboard: the chip is removed, focus goes to the new answer.
    tab_until(page, p, "公租房申请条件", shift=True)
    page.keyboard.press("Enter")
    frame.locator('[data-testid="widget-answer"][data-status="done"]').wait_for()
    assert "H2 助手回答" in assert_focus_ok(p, "after a starter question")

    page.keyboard.press("Alt+ArrowDown")  # past the last answer: back to the input
    p.wait_for_function("() => document.activeElement.id === 'zw-input'")
    answer = ask(page, "居住证怎么办理？")

    # Feedback by keyboard: focus stays on the pressed (still visible) button.
    tab_until(page, p, "没有帮助", shift=True)
    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")):
        page.keyboard.press("Enter")
    frame.get_by_text("感谢您的反馈").wait_for()
    state = assert_focus_ok(p, "after feedback")
    assert "没有帮助" in state
    expect(answer.get_by_role("button", name="没有帮助")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Enter")  # a second press does not send another rating
    page.wait_for_timeout(200)
    assert [f["rating"] for f in app.state.feedback] == ["down"]

    # Alt+↑ / Alt+↓ jump between the answers' headings.
    page.keyboard.press("Alt+ArrowUp")
    assert p.evaluate("() => document.activeElement.id") == answer.locator(".who").get_attribute("id")
    page.keyboard.press("Alt+ArrowUp")
    first = frame.get_by_test_id("widget-answer").first.locator(".who").get_attribute("id")
    assert p.evaluate("() => document.activeElement.id") == first
    page.keyboard.press("Alt+ArrowDown")
    assert p.evaluate("() => document.activeElement.id") == answer.locator(".who").get_attribute("id")

    # A clarifying option chosen by keyboard: the options are disabled, focus moves to the new answer.
    page.keyboard.press("Alt+ArrowDown")
    clarify = ask(page, "医保怎么办？")
    tab_until(page, p, "医保报销", shift=True)
    page.keyboard.press("Enter")
    assert_focus_ok(p, "right after choosing an option")
    last = frame.get_by_test_id("widget-answer").last
    last.and_(frame.locator('[data-status="done"]')).wait_for()
    assert "H2 助手回答" in assert_focus_ok(p, "after the option's answer")
    assert clarify.get_by_role("button", name="城乡居民医保参保").is_disabled()

    # Retry after an error, by keyboard.
    app.state.down = True
    page.keyboard.press("Alt+ArrowDown")
    ask(page, "社保卡丢了怎么补办？")
    app.state.down = False
    tab_until(page, p, "重试", shift=True)
    page.keyboard.press("Enter")
    assert_focus_ok(p, "after retry")
    frame.get_by_test_id("widget-answer").last.and_(frame.locator('[data-status="done"]')).wait_for()
    assert_focus_ok(p, "after the retried answer")


def test_widget_brings_a_long_answers_start_into_view(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    page.set_viewport_size({"width": 1280, "height": 720})
    frame = open_widget(page, base + "/")
    frame.get_by_test_id("widget-large-font").click()
    ask(page, "居住证怎么办理？")
    answer = ask(page, "还需要什么材料？")  # taller than the chat area in large mode
    p = panel(page)
    p.wait_for_timeout(600)  # smooth scrolling settles
    heights = answer.evaluate(
        "el => { const log = document.getElementById('zw-log').getBoundingClientRect();"
        " const r = el.getBoundingClientRect(); return [r.top - log.top, r.height, log.height]; }"
    )
    top, height, area = heights
    assert height > area, heights
    assert 0 <= top < 40, f"the answer starts {top:.0f} px from the top of the chat area"
    frame.get_by_test_id("widget-large-font").click()


def test_kiosk_keyboard_walk_focuses_each_new_view(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    page.goto(base + "/kiosk")
    main = page.main_frame
    tab_until(page, main, "居住证")
    page.keyboard.press("Enter")
    assert "H2 居住证怎么办理" in assert_focus_ok(main, "after a category")
    page.get_by_role("button", name="朗读解答").wait_for()
    assert_focus_ok(main, "after the answer arrived")
    expect(page.locator("#k-say")).to_contain_text("已为您查到解答")

    tab_until(page, main, "查看完整解答")
    page.keyboard.press("Enter")
    assert "H3 完整解答" in assert_focus_ok(main, "after 查看完整解答")
    assert "15 个工作日内办结" in page.get_by_test_id("kiosk-answer").inner_text()

    tab_until(page, main, "返回首页", shift=True)
    page.keyboard.press("Enter")
    assert "H2 请点击您要咨询的事项" in assert_focus_ok(main, "after 返回首页")

    tab_until(page, main, "INPUT")
    page.keyboard.type("医保怎么办？")
    page.keyboard.press("Enter")
    assert "H2 医保怎么办" in assert_focus_ok(main, "after a typed question")
    tab_until(page, main, "医保报销")
    page.keyboard.press("Enter")
    assert "H2 医保报销需要什么材料" in assert_focus_ok(main, "after a clarifying option")
    page.get_by_role("button", name="朗读解答").wait_for()
    assert_focus_ok(main, "after the option's answer")


def test_kiosk_idle_countdown_is_announced_once(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    page.goto(base + "/kiosk?idle=6")
    page.get_by_test_id("kiosk-category").first.click()
    page.get_by_role("button", name="朗读解答").wait_for()
    say = page.locator("#k-say")
    expect(say).to_have_attribute("role", "status")
    expect(say).to_contain_text("秒后将自动返回首页", timeout=8_000)
    assert (
        page.locator("#k-idle").get_attribute("aria-live") == "off"
    )  # the per-second countdown is not spoken
    page.get_by_role("heading", name="请点击您要咨询的事项").wait_for(timeout=10_000)
    assert_focus_ok(page.main_frame, "after the idle reset")


# --- zoom, reflow and elderly mode ---------------------------------------------------------------------


def test_large_mode_at_200_percent_zoom_keeps_a_usable_chat_area(browser: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page(browser, 640, 360, scale=2)  # 1280×720 at 200 %
    try:
        frame = open_widget(page, base + "/")
        box = page.locator(PANEL).bounding_box()
        assert box and box["width"] == 640 and box["height"] == 360, box  # full screen when short
        ask(page, "居住证怎么办理？")
        frame.get_by_test_id("widget-large-font").click()
        page.wait_for_timeout(400)
        area = panel(page).evaluate("() => document.getElementById('zw-log').clientHeight")
        assert area >= 200, f"{area} px of chat area"
        assert frame.locator("#zw-input").is_visible() and frame.get_by_test_id("widget-send").is_visible()
        page.screenshot(path=str(SCREENSHOTS / "widget-200pct-large.png"))
        if AXE.exists():  # the compact short-window layout too
            assert axe_violations(panel(page)) == []
        frame.get_by_test_id("widget-large-font").click()
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / "widget-200pct.png"))
    finally:
        page.context.close()


def test_widget_and_kiosk_reflow_at_400_percent_zoom(browser: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    page = new_page(browser, 320, 180, scale=4)  # 1280×720 at 400 %
    try:
        frame = open_widget(page, base + "/")
        ask(page, "居住证怎么办理？")
        sideways = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        assert panel(page).evaluate(sideways) <= 0
        frame.get_by_test_id("widget-input").scroll_into_view_if_needed()
        assert frame.get_by_test_id("widget-input").is_visible()
        page.goto(base + "/kiosk")
        assert page.evaluate(sideways) <= 0, "kiosk home scrolls sideways"
        page.get_by_test_id("kiosk-category").first.click()
        page.get_by_role("button", name="朗读解答").wait_for()
        assert page.evaluate(sideways) <= 0, "kiosk answer scrolls sideways"
    finally:
        page.context.close()


def test_kiosk_reflows_at_320px_and_allows_zoom(browser: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    page = new_page(browser, 320, 640, scale=2)
    try:
        page.goto(base + "/kiosk")
        viewport = page.locator('meta[name="viewport"]').get_attribute("content")
        assert "user-scalable=no" not in viewport and "maximum-scale" not in viewport
        sideways = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        assert page.evaluate(sideways) <= 0
        page.screenshot(path=str(SCREENSHOTS / "kiosk-320px.png"))
        page.get_by_test_id("kiosk-category").first.click()
        page.get_by_role("button", name="朗读解答").wait_for()
        assert page.evaluate(sideways) <= 0
        page.set_viewport_size({"width": 640, "height": 360})  # 1280×720 at 200 %
        page.screenshot(path=str(SCREENSHOTS / "kiosk-200pct-answer.png"))
    finally:
        page.context.close()


def test_launcher_name_contains_its_visible_text(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    page.goto(base + "/")
    launcher = page.get_by_test_id("widget-launcher")
    visible = launcher.inner_text().strip()
    assert visible and visible in (launcher.get_attribute("aria-label") or "")
    expect(page.get_by_role("button", name=re.compile("^" + visible))).to_have_count(1)


def test_elderly_mode_text_spacing_and_60px_targets(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    frame = open_widget(page, base + "/")
    ask(page, "居住证怎么办理？")
    frame.get_by_test_id("widget-large-font").click()
    page.wait_for_timeout(400)
    p = panel(page)
    text = p.evaluate(
        "() => { const el = document.querySelector('.bubble p'), st = getComputedStyle(el);"
        " return [parseFloat(st.fontSize), parseFloat(st.lineHeight)]; }"
    )
    assert text[0] >= 24, f"answer text {text[0]} px (18 pt is 24 px)"
    assert text[1] / text[0] >= 1.3
    small = p.evaluate(
        "() => [...document.querySelectorAll('button, .btn, summary, .check label, .src-title')]"
        ".filter(el => el.offsetParent !== null && !el.closest('.sr'))"
        ".map(el => [el.textContent.trim().slice(0, 12) || el.getAttribute('aria-label'),"
        " el.getBoundingClientRect().width, el.getBoundingClientRect().height])"
        ".filter(([, w, h]) => w < 59.5 || h < 59.5)"
    )
    assert small == [], f"targets under 60×60: {small}"
    ref = p.evaluate(
        "() => { const st = getComputedStyle(document.querySelector('a.ref'), '::after');"
        " return [parseFloat(st.width), parseFloat(st.height)]; }"
    )
    assert ref == [60, 60]  # the [1] link's tap area
    borders = p.evaluate(
        "() => [...document.querySelectorAll('.mini, .tool, .chip, .btn')].map(el => parseFloat(getComputedStyle(el).borderTopWidth))"
    )
    assert borders and min(borders) >= 2
    page.reload()  # the setting persists
    page.get_by_test_id("widget-launcher").click()
    expect(page.frame_locator(PANEL).get_by_test_id("widget-large-font")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.frame_locator(PANEL).get_by_test_id("widget-large-font").click()


# --- read-aloud --------------------------------------------------------------------------------------


def test_read_aloud_without_browser_voices_plays_server_audio(page: Any, api: tuple[str, Any]) -> None:
    base, app = api
    open_widget(page, base + "/")
    answer = ask(page, "居住证怎么办理？")
    speak = answer.get_by_role("button", name="朗读这条回答")
    with page.expect_response(lambda r: r.url.endswith("/v1/speech")) as res:
        speak.click()
    assert res.value.ok and res.value.headers["content-type"] == "audio/wav"
    assert int(res.value.headers["content-length"]) > 44  # more than a WAV header
    assert (
        app.state.speech
        and "[1]" not in app.state.speech[0]
        and "居住地连续居住满半年" in app.state.speech[0]
    )
    expect(speak).to_have_attribute("aria-pressed", "true")
    panel(page).wait_for_function("() => window.__played.length === 1")
    played = panel(page).evaluate("() => window.__played[0]")
    assert isinstance(played, float) and played > 0, played  # the audio decoded and played
    expect(speak).to_have_attribute("aria-pressed", "false", timeout=5_000)  # played to the end
    assert panel(page).evaluate("() => window.__spoken") == []

    # The kiosk too.
    page.goto(base + "/kiosk")
    page.get_by_test_id("kiosk-category").first.click()
    with page.expect_response(lambda r: r.url.endswith("/v1/speech")) as res:
        page.get_by_role("button", name="朗读解答").click()
    assert res.value.ok and res.value.headers["content-type"] == "audio/wav"
    page.wait_for_function("() => window.__played.length === 1 && window.__played[0] > 0")


def test_read_aloud_prefers_a_local_chinese_browser_voice(browser: Any, api: tuple[str, Any]) -> None:
    base, app = api
    voices = "[{name: 'remote', lang: 'zh-CN', localService: false}, {name: 'local', lang: 'zh-CN', localService: true}]"
    page = new_page(browser, voices=voices)
    try:
        open_widget(page, base + "/")
        answer = ask(page, "居住证怎么办理？")
        answer.get_by_role("button", name="朗读这条回答").click()
        panel(page).wait_for_function("() => window.__spoken.length === 1")
        assert app.state.speech == []
    finally:
        page.context.close()


def test_read_aloud_failure_is_shown_and_announced(page: Any, api: tuple[str, Any]) -> None:
    base, app = api
    app.state.speech_down = True
    frame = open_widget(page, base + "/")
    answer = ask(page, "居住证怎么办理？")
    answer.get_by_role("button", name="朗读这条回答").click()
    status = frame.locator("#zw-status")
    expect(status).to_contain_text("语音朗读暂不可用")
    assert status.get_attribute("role") == "status" and status.is_visible()
    page.goto(base + "/kiosk")
    page.get_by_test_id("kiosk-category").first.click()
    page.get_by_role("button", name="朗读解答").click()
    expect(page.locator("#k-status")).to_contain_text("语音朗读暂不可用")
    assert page.locator("#k-status").is_visible()


def test_widget_still_answers_when_speak_js_does_not_load(page: Any, api: tuple[str, Any]) -> None:
    base, _ = api
    page.route("**/widget/speak.js", lambda route: route.abort())
    frame = open_widget(page, base + "/")
    answer = ask(page, "居住证怎么办理？")
    assert answer.get_attribute("data-status") == "done"
    answer.get_by_role("button", name="朗读这条回答").click()
    expect(frame.locator("#zw-status")).to_contain_text("语音朗读暂不可用")
