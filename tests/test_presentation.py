"""How answers are shown (assistant/presentation.py) and streamed with the finished answer on the side."""

from __future__ import annotations

import pytest

from assistant.pipeline import AnswerStream
from assistant.presentation import (
    SNIPPET_CHARS,
    clarify_text,
    kiosk_fields,
    short_answer,
    snippet,
    sources_footer,
    without_footer,
)
from assistant.types import Answer, Citation, Clarify, ClarifyOption


def _citation(n: int, url: str = "") -> Citation:
    return Citation(n=n, doc_id=f"d{n}", chunk_id=f"d{n}#0", title=f"标题{n}", snippet="内容。" * 40, url=url)


def test_snippets_never_exceed_their_limit() -> None:
    assert snippet("短") == "短"
    long = "字" * 500
    assert len(snippet(long)) == SNIPPET_CHARS and snippet(long).endswith("…")
    assert snippet("字" * SNIPPET_CHARS) == "字" * SNIPPET_CHARS


def test_footer_is_added_and_stripped_again() -> None:
    cites = [_citation(1, "https://example.gov.cn/a"), _citation(2)]
    footer = sources_footer(cites)
    assert "[1] 标题1 https://example.gov.cn/a" in footer and "[2] 标题2" in footer
    assert without_footer("答案[1]" + footer) == "答案[1]" and sources_footer([]) == ""


def test_clarify_text_lists_each_option_once() -> None:
    c = Clarify(
        question="您想咨询的是以下哪一项？",
        options=[ClarifyOption("首次申领", "q1"), ClarifyOption("补领", "q2")],
    )
    assert clarify_text(c) == "您想咨询的是以下哪一项？\n1. 首次申领\n2. 补领"


def test_kiosk_shortens_the_answer_and_keeps_the_full_one() -> None:
    text = "第一句话。" * 60
    ans = Answer(text=text, answered_by="extractive", citations=[_citation(1, "https://example.gov.cn/a")])
    shown = kiosk_fields(ans)
    assert (
        shown["full_answer"] == text and shown["answer"] == short_answer(text) and len(shown["answer"]) <= 120
    )
    assert shown["qr"][0]["url"] == "https://example.gov.cn/a" and len(shown["citations"][0]["snippet"]) <= 60


def test_answer_stream_yields_events_and_hands_back_the_answer() -> None:
    ans = Answer(text="答" * 60 + "[1]", answered_by="extractive", citations=[_citation(1)])
    stream = AnswerStream(lambda: ans)
    with pytest.raises(RuntimeError):
        _ = stream.answer
    events = list(stream)
    assert stream.answer is ans
    assert [e.type for e in events][0] == "meta" and events[-1].type == "done"
    assert "".join(e.data["text"] for e in events if e.type == "delta") == ans.text


def test_kiosk_answer_to_how_to_opens_with_the_guide_not_a_definition(mini_settings: object) -> None:
    """ "居住证怎么办理？" on the kiosk: the screen's short answer names the guide and starts with its
    conditions and materials (issue 14: it used to open with 第三条, what a 居住证 is)."""
    from assistant.pipeline import Assistant
    from assistant.presentation import kiosk_fields

    assistant = Assistant.from_settings(mini_settings)  # type: ignore[arg-type]
    ans = assistant.answer("居住证怎么办理？")
    shown = kiosk_fields(ans)["answer"]
    assert shown.startswith("《居住证申领》") and "第三条" not in shown
    assert "申请条件：" in shown
    assert ans.text.index("所需材料：") < ans.text.index("办理地点：")
