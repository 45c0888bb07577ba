"""Multi-turn rewriting (conversation) and clarifying questions (answering.clarify)."""

from __future__ import annotations

import pytest

from assistant.answering.clarify import clarify
from assistant.conversation import (
    asks_something,
    is_follow_up,
    names_own_topic,
    previous_question,
    rewrite,
    topic_documents,
)
from assistant.query import Query
from assistant.types import Chunk, Hit, Turn


def history(*user_turns: str) -> list[Turn]:
    out: list[Turn] = []
    for q in user_turns:
        out += [Turn("user", q), Turn("assistant", "（回答）")]
    return out


@pytest.mark.parametrize(
    ("previous", "question", "expected"),
    [
        (["港澳通行证怎么办理？"], "需要带什么材料？", "港澳通行证需要带什么材料？"),
        (["港澳通行证怎么办理？"], "在哪里办？", "港澳通行证在哪里办？"),
        (["身份证首次申领需要什么材料"], "那补领呢？", "身份证补领需要什么材料？"),
        (["护照需要什么材料"], "如果是港澳通行证呢", "港澳通行证需要什么材料？"),
        (["居住证怎么办理", "需要什么材料"], "要多久？", "居住证要多久？"),
        (["港澳通行证怎么办"], "在哪办？", "港澳通行证在哪办？"),
        (["身份证有效期多久"], "那小孩呢？", "身份证有效期小孩多久？"),
        (["想办个护照出国玩"], "那小孩呢？能用几年", "想办个护照出国玩小孩能用几年？"),
    ],
)
def test_follow_ups_carry_the_topic(previous: list[str], question: str, expected: str) -> None:
    assert rewrite(question, history(*previous)) == expected


def test_follow_ups_without_a_lead_keep_the_topic_when_the_caller_says_so() -> None:
    assert rewrite("交上去以后多久能拿到？", history("港澳通行证怎么办"), follow_up=True) == (
        "港澳通行证交上去以后多久能拿到？"
    )
    assert is_follow_up("那要带什么材料？") and is_follow_up("要带啥？") and is_follow_up("电话多少？")
    assert is_follow_up("在哪办？") and is_follow_up("试用期呢？")
    assert not is_follow_up("交上去以后多久能拿到？")  # decided by names_own_topic after a search


def test_messages_that_ask_nothing_are_never_merged_into_the_topic(mini_settings: object) -> None:
    from assistant.pipeline import Assistant

    assert (
        asks_something("交上去以后多久能拿到") and asks_something("男方要几岁") and asks_something("能退吗")
    )
    assert not asks_something("谢谢") and not asks_something("我要投诉物业")
    assistant = Assistant.from_settings(mini_settings)  # type: ignore[arg-type]
    turns = cited_history(assistant, "居住证怎么办理？")
    assert assistant.answer("谢谢", history=turns).rewritten_question == "谢谢"


def test_names_own_topic_reads_the_titles_the_message_finds() -> None:
    assert names_own_topic("居住证怎么办理", ["居住证申领", "居住证暂行条例"])
    assert names_own_topic("驾照在哪换", ["机动车驾驶证换证"])  # 驾照 → 机动车驾驶证 (synonyms)
    assert not names_own_topic("交上去以后多久能拿到", ["护照签发", "港澳通行证签注"])
    assert not names_own_topic("单位不报的话我自己多久内要申请", ["用人单位申请工伤认定"])  # generic words


def test_topic_documents_and_previous_question_come_from_the_history() -> None:
    turns = [
        Turn("user", "居住证怎么办理"),
        Turn("assistant", "（回答）", ("guide-a", "law-b", "guide-a")),
        Turn("user", "需要什么材料"),
        Turn("assistant", "（回答）", ("guide-a", "faq-c")),
    ]
    assert topic_documents(turns) == ("guide-a", "faq-c")
    assert topic_documents(turns[:2]) == ("guide-a", "law-b")
    assert topic_documents([Turn("user", "居住证怎么办理")]) == ()
    assert previous_question(turns) == "居住证需要什么材料？"
    assert previous_question([]) == ""


def test_self_contained_questions_are_unchanged() -> None:
    assert rewrite("社保卡丢了怎么补办", history("护照怎么办理")) == "社保卡丢了怎么补办"
    assert rewrite("需要带什么材料？", []) == "需要带什么材料？"
    assert not is_follow_up("居民身份证补领需要什么材料")


def ghit(doc_id: str, title: str, score: float, region: str = "", type_: str = "guide") -> Hit:
    meta = {"doc_id": doc_id, "title": title, "type": type_, "region": region}
    return Hit(
        chunk=Chunk(id=f"{doc_id}#0", doc_id=doc_id, text=title, title=title, metadata=meta), score=score
    )


def test_clarify_between_close_variants() -> None:
    hits = [
        ghit("a", "居民身份证首次申领", 0.80),
        ghit("b", "居民身份证补领", 0.78),
        ghit("c", "护照签发", 0.5),
    ]
    c = clarify(Query.parse("身份证需要什么材料"), hits)
    assert c is not None
    assert [o.doc_id for o in c.options] == ["a", "b"]
    assert [o.label for o in c.options] == ["首次申领", "补领"]
    assert c.options[1].question == "居民身份证补领需要什么材料？"


def test_clarify_levels_by_region() -> None:
    hits = [ghit("p", "医师执业注册", 0.9, region="广东省"), ghit("c", "医师执业注册", 0.88, region="广州市")]
    c = clarify(Query.parse("医师执业注册"), hits)
    assert c is not None and [o.label for o in c.options] == ["广东省", "广州市"]


def test_no_clarify_when_question_names_a_variant_or_scores_differ_or_not_guides() -> None:
    hits = [ghit("a", "居民身份证首次申领", 0.80), ghit("b", "居民身份证补领", 0.78)]
    assert clarify(Query.parse("身份证补领需要什么材料"), hits) is None
    assert (
        clarify(
            Query.parse("身份证"), [ghit("a", "居民身份证首次申领", 0.9), ghit("b", "居民身份证补领", 0.5)]
        )
        is None
    )
    faqs = [ghit("a", "居民身份证首次申领", 0.8, type_="faq"), ghit("b", "居民身份证补领", 0.8, type_="faq")]
    assert clarify(Query.parse("身份证"), faqs) is None


def test_session_history_changes_the_answer_to_a_follow_up(mini_settings: object) -> None:
    from assistant.pipeline import Assistant

    assistant = Assistant.from_settings(mini_settings)  # type: ignore[arg-type]
    follow_up = "需要什么材料？"
    alone = assistant.answer(follow_up)
    after = assistant.answer(follow_up, history=history("居住证怎么办理"))
    assert after.rewritten_question == "居住证需要什么材料？" and alone.rewritten_question == follow_up
    assert after.text != alone.text
    assert after.citations and "居住证" in after.citations[0].title


def cited_history(assistant: object, *questions: str) -> list[Turn]:
    """Ask ``questions`` in turn and return the history as the session store would give it back."""
    turns: list[Turn] = []
    for q in questions:
        ans = assistant.answer(q, history=turns)  # type: ignore[attr-defined]
        turns += [Turn("user", q), Turn("assistant", ans.text, tuple(c.doc_id for c in ans.citations))]
    return turns


def test_follow_up_cites_the_previous_guide_with_the_asked_field_first(mini_settings: object) -> None:
    from assistant.pipeline import Assistant

    assistant = Assistant.from_settings(mini_settings)  # type: ignore[arg-type]
    turns = cited_history(assistant, "居住证怎么办理？")
    assert turns[1].doc_ids[0] == "guide-residence-permit"
    ans = assistant.answer("那要带什么材料？", history=turns)
    assert ans.answered_by == "extractive"
    assert ans.citations[0].doc_id == "guide-residence-permit"
    assert ans.text.split("\n")[1].startswith("所需材料：1. 居民身份证原件")
    later = assistant.answer("交上去以后多久能拿到？", history=turns)
    assert "居住证" in later.rewritten_question and later.answered_by == "extractive"
    assert later.citations[0].doc_id == "guide-residence-permit"
    assert later.text.split("\n")[1].startswith("办理时限：")


def test_follow_up_without_cited_documents_finds_the_topic_again(mini_settings: object) -> None:
    """The OpenAI-compatible route and evals send user turns only: the previous question is searched again."""
    from assistant.pipeline import Assistant

    assistant = Assistant.from_settings(mini_settings)  # type: ignore[arg-type]
    ans = assistant.answer("交上去以后多久能拿到？", history=[Turn("user", "居住证怎么办理？")])
    assert ans.citations and ans.citations[0].doc_id == "guide-residence-permit"


def test_a_new_topic_in_a_conversation_is_not_merged_into_the_old_one(mini_settings: object) -> None:
    from assistant.pipeline import Assistant

    assistant = Assistant.from_settings(mini_settings)  # type: ignore[arg-type]
    turns = cited_history(assistant, "居住证怎么办理？")
    ans = assistant.answer("护照签发需要什么材料", history=turns)
    assert ans.rewritten_question == "护照签发需要什么材料"
    assert ans.citations[0].doc_id == "guide-passport"
