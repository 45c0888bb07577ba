"""Multi-turn rewriting (conversation) and clarifying questions (answering.clarify)."""

from __future__ import annotations

import pytest

from assistant.answering.clarify import clarify
from assistant.conversation import is_follow_up, rewrite
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
    ],
)
def test_follow_ups_carry_the_topic(previous: list[str], question: str, expected: str) -> None:
    assert rewrite(question, history(*previous)) == expected


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
