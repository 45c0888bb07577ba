"""The intent model in the answer path: hand-offs it adds, the scope and greeting replies, `none`, fallback."""

from __future__ import annotations

import logging

import pytest

from assistant.answering.respond import model_decision
from assistant.config import Settings
from assistant.intent import INTENTS, IntentPrediction
from assistant.pipeline import Assistant
from assistant.query import Query

CASE = "帮我查一下我的社保卡到哪一步了"  # the rule classifier lets this through (score 1.0 < 2.0)
CHITCHAT = "红烧肉怎么做才好吃"
QUESTION = "居住证怎么办理"


def _with(settings: Settings, intent: str) -> Assistant:
    answer = settings.answer.model_copy(update={"intent": intent})
    assistant = Assistant.from_settings(settings.model_copy(update={"answer": answer}))
    assistant.warm_up()
    return assistant


@pytest.fixture
def fake(mini_settings: Settings) -> Assistant:
    return _with(mini_settings, "fake")


@pytest.fixture
def plain(mini_settings: Settings) -> Assistant:
    return _with(mini_settings, "none")


def test_fake_model_hands_off_an_individual_case_the_rules_miss(fake: Assistant, plain: Assistant) -> None:
    before = plain.answer(CASE)
    assert before.handoff is None or before.handoff.reason != "individual_case"
    ans = fake.answer(CASE)
    assert ans.answered_by == "handoff"
    assert ans.handoff is not None and ans.handoff.reason == "individual_case"
    assert not ans.citations
    assert (ans.intent, ans.intent_confidence) == ("case", 0.9)
    assert "intent_ms" in ans.timings


def test_fake_model_gives_chitchat_the_scope_reply_without_citations(fake: Assistant) -> None:
    ans = fake.answer(CHITCHAT)
    assert ans.answered_by == "scope"
    assert ans.intent == "chitchat"
    assert not ans.citations and ans.card is None and ans.handoff is None
    assert "政务服务" in ans.text and "12345" in ans.text
    assert not ans.answered  # evals count it as declined, like a refusal


def test_greeting_and_thanks_get_a_short_reply(fake: Assistant) -> None:
    hello, thanks = fake.answer("你好"), fake.answer("谢谢你")
    assert (hello.answered_by, thanks.answered_by) == ("greeting", "greeting")
    assert "您好" in hello.text and "不客气" in thanks.text
    assert not hello.citations and not thanks.citations


def test_a_normal_question_is_still_answered(fake: Assistant, plain: Assistant) -> None:
    ans = fake.answer(QUESTION)
    assert ans.answered and ans.answered_by == "extractive"
    assert ans.intent == "question"
    assert ans.text == plain.answer(QUESTION).text


def test_none_keeps_the_old_behaviour(plain: Assistant) -> None:
    assert plain.intent is None and plain.describe()["intent"] == "none"
    for q in (CASE, CHITCHAT, QUESTION):
        ans = plain.answer(q)
        assert ans.intent == "" and ans.intent_confidence is None
        assert ans.answered_by not in ("scope", "greeting")
        assert "intent_ms" not in ans.timings
    assert plain.answer(CHITCHAT).to_dict()["intent"] is None


def test_linear_model_with_the_hash_embedder_falls_back_to_rules(
    mini_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="assistant.pipeline"):
        assistant = _with(mini_settings, "linear")
    assert assistant.intent is None
    assert "rule classifier only" in caplog.text and "hash" in caplog.text
    assert assistant.answer(CASE).intent == ""


def _query(label: str, p: float, question: float) -> Query:
    """A query whose prediction gives ``label`` probability ``p`` and ``question`` probability ``question``."""
    others = [i for i in INTENTS if i not in (label, "question")]
    rest = (1.0 - p - (question if label != "question" else 0.0)) / len(others)
    probs = {i: rest for i in others} | {"question": question, label: p}
    return Query.parse("随便").with_intent(IntentPrediction(label, probs))


@pytest.mark.parametrize(
    ("label", "p", "question", "expected"),
    [
        ("case", 0.9, 0.05, "individual_case"),
        ("complaint", 0.9, 0.05, "complaint"),
        ("human", 0.9, 0.05, "human_requested"),
        ("chitchat", 0.9, 0.05, "scope"),
        ("greeting", 0.9, 0.05, "greeting"),
        ("other_region", 0.95, 0.01, "other_region"),  # only makes the place check stricter
        ("case", 0.55, 0.1, None),  # below the threshold (0.6)
        ("case", 0.62, 0.35, None),  # may well be a question (guard 0.3): answered
        ("question", 0.9, 0.9, None),
    ],
)
def test_model_decision_only_when_confident(
    label: str, p: float, question: float, expected: str | None
) -> None:
    settings = Settings(embedder={"name": "hash"})
    assert model_decision(_query(label, p, question), settings) == expected


def test_no_prediction_no_decision() -> None:
    assert model_decision(Query.parse(CASE), Settings(embedder={"name": "hash"})) is None


def test_a_case_about_a_known_service_gets_its_self_service_route_end_to_end(fake: Assistant) -> None:
    ans = fake.answer("帮我看看我的居住证办到哪一步了 交了半个月了")
    assert ans.answered_by == "handoff" and ans.intent == "case"
    h = ans.handoff
    assert h is not None and h.reason == "individual_case"
    assert (h.service, h.service_url, h.service_doc_id) == (
        "居住证申领",
        "https://www.gdzwfw.gov.cn/",
        "guide-residence-permit",
    )
    assert h.department_phone == "020-12345" and "12345政务服务便民热线" in ans.text
    assert [c.doc_id for c in ans.citations] == ["guide-residence-permit"]
    assert "https://www.gdzwfw.gov.cn/[1]" in ans.text and not ans.answered
    body = ans.to_dict()
    assert body["handoff"]["service_url"] == "https://www.gdzwfw.gov.cn/"  # the widget/kiosk payload


def test_off_topic_gets_a_short_friendly_scope_statement(fake: Assistant) -> None:
    ans = fake.answer("白切鸡怎么做才嫩")
    assert ans.answered_by == "scope" and len(ans.text) <= 120
    assert ans.text.startswith("抱歉") and "居住证怎么办理" in ans.text


def test_a_confident_question_overrules_the_rule_classifier_but_not_a_request_for_a_person(
    mini_settings: Settings,
) -> None:
    from assistant.answering.extractive import ExtractiveAnswerer
    from assistant.answering.respond import confident_question, respond
    from assistant.types import Chunk, Hit

    post = "年假公司一直不让休，多次反映至今没有解决，是不是要补钱给我？"  # the rules call it a case
    hits = [
        Hit(
            chunk=Chunk(
                id="a#0",
                doc_id="a",
                text="职工带薪年休假，单位应当支付年休假工资报酬。",
                title="职工带薪年休假条例",
                metadata={"type": "law"},
            ),
            score=1.0,
        )
    ]
    settings = mini_settings
    answerer = ExtractiveAnswerer(settings)
    rules_only = respond(Query.parse(post), hits, answerer=answerer, settings=settings)
    assert rules_only.handoff is not None  # the rule classifier alone hands it off
    sure = _query("question", 0.9, 0.9)
    question = Query.parse(post).with_intent(sure.intent)
    assert confident_question(question, settings)
    assert respond(question, hits, answerer=answerer, settings=settings).handoff is None
    unsure = Query.parse(post).with_intent(_query("question", 0.5, 0.5).intent)
    assert respond(unsure, hits, answerer=answerer, settings=settings).handoff is not None
    human = Query.parse("转人工").with_intent(sure.intent)
    assert respond(human, hits, answerer=answerer, settings=settings).handoff.reason == "human_requested"
