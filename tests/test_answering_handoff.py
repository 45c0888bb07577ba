"""Hand-off rules: human requests, citizen posts vs knowledge-base questions, refusal, hand-off object."""

from __future__ import annotations

import pytest

from assistant.answering.classify import FEATURES, classify_message, message_score
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.handoff import build_handoff, find_route
from assistant.answering.respond import confidence, on_topic, respond, should_refuse
from assistant.config import Settings
from assistant.intent import INTENTS, IntentPrediction
from assistant.intent.features import features
from assistant.presentation import qr_links
from assistant.query import Query
from assistant.regions import uncovered_place
from assistant.types import Chunk, Hit


def hit(doc_id: str, text: str, score: float = 1.0, **meta: object) -> Hit:
    m = {"doc_id": doc_id, "title": doc_id, "type": "faq", "status": "现行有效", **meta}
    return Hit(
        chunk=Chunk(id=f"{doc_id}#0", doc_id=doc_id, text=text, title=str(m["title"]), metadata=m),
        score=score,
    )


@pytest.fixture
def settings() -> Settings:
    return Settings(embedder={"name": "hash"}, today="2025-06-01")


@pytest.mark.parametrize("msg", ["转人工", "我要人工客服", "能不能帮我转接人工服务？"])
def test_explicit_request_for_a_human_always_hands_off(msg: str) -> None:
    d = classify_message(Query.parse(msg))
    assert d is not None and d.reason == "human_requested"


POSTS = [
    "尊敬的领导：我是A6区的居民，小区旁边的工地每天夜里施工，噪音严重扰民，多次反映至今没有解决，希望有关部门尽快处理！",
    "投诉长乐坊四组鑫源百货旁的夜宵摊严重扰民，影响附近居民休息，请有关部门核实处理",
    "B2区龙泉村鑫盛路周边散户请求安装路灯，并且对居住地附近道路破损情况进行修补。谢谢！",
    "我们村的自来水建设已经三年了，现在停工，无百姓受益，恳请上级政府调查。",
    "举报某某公司拖欠农民工工资半年，至今不给，我们已经找了劳动监察好几次。",
]
QUESTIONS = [
    "住房公积金个人住房贷款逾期罚息如何计算？",
    "如何通过12329住房公积金热线查询个人住房公积金情况？",
    "遇到暴雨天气我该怎么办",
    "《北京市体育行业预付式消费领域资金监管实施细则（试行）》的主要内容是什么？",
    "我的社保卡丢了，怎么补办？",
    "孩子在北京上小学需要准备哪些材料？",
    "请问公租房申请需要满足哪些条件？",
    "公司的研发费用进行资本化，目前已开始摊销，请问资本化的研发费用项目开始摊销能否申请科委鉴定？",
]


@pytest.mark.parametrize("post", POSTS)
def test_citizen_posts_hand_off(post: str) -> None:
    d = classify_message(Query.parse(post))
    assert d is not None and d.reason in ("complaint", "individual_case")


@pytest.mark.parametrize("question", QUESTIONS)
def test_knowledge_base_questions_do_not_hand_off(question: str) -> None:
    assert classify_message(Query.parse(question)) is None


def test_complaint_reason_and_features_are_reported() -> None:
    d = classify_message(Query.parse(POSTS[1]))
    assert d is not None and d.reason == "complaint" and "complaint" in d.features


# One message per feature that the feature's ``why`` describes; a feature added without one fails below.
FEATURE_EXAMPLES = {
    "place_code": "A市B区的路灯坏了",
    "salutation": "尊敬的领导您好",
    "complaint": "投诉楼下餐馆噪音扰民",
    "reported": "向上级反映这个情况",
    "persisting": "问题至今没有解决",
    "plea": "恳请帮忙解决",
    "hope": "盼早日解决",
    "authorities": "请有关部门重视",
    "locality": "我们小区的电梯",
    "first_person_group": "我家的房子",
    "first_person": "本人的档案",
    "family": "我爸住院了",
    "dated": "2023年5月开始",
    "courtesy": "万分感激",
    "emotive": "太过分了！",
    "polite_ask": "请问公积金",
    "why": "凭什么不给办",
    "local_plan": "这条路需要修路",
    "suggestion": "建议增加班次",
    "how_question": "如何办理护照",
    "doc_title": "《住房公积金管理条例》第几条",
}


@pytest.mark.parametrize("feature", [f.name for f in FEATURES])
def test_each_feature_fires_on_the_kind_of_message_it_describes(feature: str) -> None:
    assert feature in FEATURE_EXAMPLES, f"add an example message for the new feature {feature!r}"
    assert feature in message_score(Query.parse(FEATURE_EXAMPLES[feature]))[1]


def test_features_move_the_decision_their_way() -> None:
    question = "居住证办理需要什么材料"
    assert classify_message(Query.parse(question)) is None
    base = message_score(Query.parse(question))[0]
    assert message_score(Query.parse("尊敬的领导：" + question))[0] > base  # letter style pushes up
    assert message_score(Query.parse("如何" + question))[0] < base + 0.5  # the how-shape pulls down
    post = "尊敬的领导：我们小区噪音扰民至今没有解决，恳请有关部门处理！"
    decision = classify_message(Query.parse(post))
    assert decision is not None and decision.reason == "complaint"


def test_handoff_object_carries_hotline_board_and_department_phone(settings: Settings) -> None:
    hits = [
        hit(
            "g",
            "办理地点：天河区政务中心",
            department="广州市公安局",
            fields={"consult_phone": "020-83118311"},
        )
    ]
    h = build_handoff("complaint", hits, settings)
    assert h.hotline == "12345" and settings.answer.message_board in h.channels
    assert h.department == "广州市公安局" and h.department_phone == "020-83118311"
    assert "020-83118311" in h.message
    h2 = build_handoff(
        "individual_case", [hit("f", "详情请咨询，咨询电话：010-12345678。", department="医保局")], settings
    )
    assert h2.department_phone == "010-12345678"
    assert build_handoff("low_confidence", hits, settings).department_phone == ""


def test_confidence_and_refusal(settings: Settings) -> None:
    hits = [hit("a", "住房公积金贷款逾期罚息按日计算。")]
    pork, fine = Query.parse("红烧肉的做法"), Query.parse("公积金贷款逾期罚息")
    assert confidence(hits, Query.parse("公积金贷款逾期罚息怎么算")) > 0.8
    assert confidence(hits, pork) == 0.0 and confidence([], fine) == 0.0
    assert should_refuse([], settings) and not should_refuse(hits, settings, confidence(hits, pork))  # off
    strict = Settings(embedder={"name": "hash"}, answer={"min_confidence": 0.3})
    assert should_refuse(hits, strict, confidence(hits, pork))
    assert not should_refuse(hits, strict, confidence(hits, fine))


def test_relevance_floor_refuses_weak_best_matches(settings: Settings) -> None:
    weak = [hit("a", "住房公积金贷款逾期罚息按日计算。"), hit("b", "羊肉萝卜汤的做法。")]
    weak[0].dense_score, weak[1].dense_score = 0.70, 0.74
    assert should_refuse(weak, settings, relevance_floor=0.75)  # best 0.74 < 0.75
    assert not should_refuse(weak, settings, relevance_floor=0.74)
    assert not should_refuse(weak, settings)  # no floor: the embedder is not calibrated
    off = Settings(embedder={"name": "hash"}, answer={"relevance_floor": 0})
    assert not should_refuse(weak, off, relevance_floor=0.75)  # 0 in the settings: off
    own = Settings(embedder={"name": "hash"}, answer={"relevance_floor": 0.7})
    assert not should_refuse(weak, own, relevance_floor=0.75)  # the settings win
    unscored = [hit("a", "住房公积金贷款逾期罚息按日计算。")]  # a retriever without dense scores
    assert not should_refuse(unscored, settings, relevance_floor=0.75)
    answer = respond(
        Query.parse("红烧肉怎么做"),
        weak,
        answerer=ExtractiveAnswerer(settings),
        settings=settings,
        relevance_floor=0.75,
    )
    assert answer.answered_by == "handoff" and answer.handoff and answer.handoff.reason == "low_confidence"
    assert "没有找到" in answer.text and not answer.citations


def test_respond_orders_handoff_refusal_and_answer(settings: Settings) -> None:
    answerer = ExtractiveAnswerer(settings)
    hits = [hit("a", "住房公积金贷款逾期罚息按日计算。")]
    post = respond(Query.parse(POSTS[0]), hits, answerer=answerer, settings=settings)
    assert (
        post.answered_by == "handoff"
        and post.handoff
        and post.handoff.reason == "complaint"
        and not post.answered
    )
    empty = respond(Query.parse("公积金逾期罚息"), [], answerer=answerer, settings=settings)
    assert empty.answered_by == "handoff" and empty.handoff and empty.handoff.reason == "no_knowledge"
    assert "没有找到" in empty.text
    ok = respond(
        Query.parse("逾期罚息怎么算", "公积金贷款逾期罚息怎么算"), hits, answerer=answerer, settings=settings
    )
    assert (
        ok.answered
        and ok.rewritten_question == "公积金贷款逾期罚息怎么算"
        and ok.question == "逾期罚息怎么算"
    )


def test_handoff_names_a_department_only_for_on_topic_hits() -> None:
    def h(title: str) -> Hit:
        return Hit(chunk=Chunk(id=f"{title}#0", doc_id=title, text=title, title=title), score=0.5)

    hits = [h("渔业船舶登记"), h("社会保障卡补领")]
    assert [x.doc_id for x in on_topic(Query.parse("我家楼下餐馆噪音扰民，多次反映至今没有解决"), hits)] == []
    assert [
        x.doc_id for x in on_topic(Query.parse("我的社会保障卡丢了，单位一直拖着不给补办，请领导督促"), hits)
    ] == ["社会保障卡补领"]


def test_assistant_applies_the_relevance_floor_end_to_end(mini_settings: Settings) -> None:
    from assistant.pipeline import Assistant

    plain = Assistant.from_settings(mini_settings)
    assert plain.retriever.relevance_floor is None  # the hash fake: uncalibrated
    assert plain.answer("居住证怎么办理").answered
    strict = mini_settings.model_copy(
        update={"answer": mini_settings.answer.model_copy(update={"relevance_floor": 0.999})}
    )
    refused = Assistant.from_settings(strict).answer("居住证怎么办理")
    assert refused.answered_by == "handoff" and refused.handoff and refused.handoff.reason == "low_confidence"


# --- helpful hand-offs: the self-service route, the complaint department, cited -------------------


def sure(query: Query, label: str) -> Query:
    """``query`` with a confident intent prediction (as the model gives in the pipeline)."""
    return query.with_intent(IntentPrediction(label, {i: 0.01 for i in INTENTS} | {label: 0.94}))


PROGRESS_GUIDE = {
    "type": "guide",
    "department": "广东省公安厅",
    "fields": {
        "online_url": "https://crj.example.gov.cn/jdcx",
        "consult_phone": "020-83119119",
    },
}


def test_an_individual_case_gets_the_progress_item_its_link_phone_and_12345(settings: Settings) -> None:
    hits = [
        hit("g-apply", "办理地点：出入境大厅", title="办理往来港澳通行证个人游签注", **PROGRESS_GUIDE),
        hit(
            "g-progress",
            "在线办理：https://crj.example.gov.cn/jdcx",
            title="办理往来港澳通行证个人游签注进度查询",
            **PROGRESS_GUIDE,
        ),
        hit("g-other", "办理地点：车管所", title="机动车驾驶证换领", **PROGRESS_GUIDE),
    ]
    query = sure(Query.parse("帮我查下我的港澳通行证签注到哪一步了 交了两个礼拜了"), "case")
    route = find_route("individual_case", query, hits)
    assert route is not None and route.kind == "service" and route.hit.doc_id == "g-progress"
    ans = respond(query, hits, answerer=ExtractiveAnswerer(settings), settings=settings)
    assert ans.answered_by == "handoff" and ans.handoff and ans.handoff.reason == "individual_case"
    h = ans.handoff
    assert (
        h.service == "办理往来港澳通行证个人游签注进度查询"
        and h.service_url == "https://crj.example.gov.cn/jdcx"
    )
    assert h.service_doc_id == "g-progress" and h.department_phone == "020-83119119"
    assert "https://crj.example.gov.cn/jdcx[1]" in ans.text and "12345" in ans.text
    assert [c.doc_id for c in ans.citations] == ["g-progress"]
    assert "https://crj.example.gov.cn/jdcx" in ans.citations[0].snippet  # the stated link is the source's
    assert not ans.answered  # still a hand-off for the evals
    assert {"label": "自助查询：" + h.service, "url": h.service_url}.items() <= qr_links(ans)[0].items()


def test_a_case_without_an_on_topic_item_gets_no_route(settings: Settings) -> None:
    hits = [hit("g-other", "办理地点：车管所", title="机动车驾驶证换领", **PROGRESS_GUIDE)]
    query = sure(Query.parse("帮我查下我的社保卡到哪了"), "case")
    assert find_route("individual_case", query, hits) is None
    ans = respond(query, hits, answerer=ExtractiveAnswerer(settings), settings=settings)
    assert ans.handoff is not None and ans.handoff.service == "" and not ans.citations
    assert "12345" in ans.text


def test_a_case_can_be_routed_by_a_source_sentence_on_where_to_check(settings: Settings) -> None:
    text = "社保卡经办机构将在5个工作日内完成审核。申领人可通过“穗好办”APP实时查询社会保障卡制卡进度。"
    hits = [hit("p", text, title="怎么申领广州市社会保障卡？", type="policy")]
    route = find_route("individual_case", Query.parse("帮我看看我的社保卡到哪一步了"), hits)
    assert route is not None and route.kind == "sentence"
    assert route.quote == "申领人可通过“穗好办”APP实时查询社会保障卡制卡进度。"
    h = build_handoff("individual_case", hits, settings, route=route)
    assert route.quote in h.message and "[1]" in h.message and h.service_doc_id == "p"


def test_a_complaint_names_the_department_a_source_gives_for_that_kind_of_complaint(
    settings: Settings,
) -> None:
    law = "第二十三条 对违反本规定的养犬行为，任何单位和个人都有权批评、劝阻，或者向有关行政部门举报。"
    wage = "任何单位和个人对拖欠农民工工资的行为，有权向人力资源社会保障行政部门或者其他有关部门举报。"
    hits = [
        hit("dogs", law, title="北京市养犬管理规定", type="law"),
        hit("wages", wage, title="保障农民工工资支付条例", type="law"),
    ]
    query = Query.parse("老板拖欠我们工资三个月了 我要投诉")
    ans = respond(query, hits, answerer=ExtractiveAnswerer(settings), settings=settings)
    assert ans.handoff is not None and ans.handoff.reason == "complaint"
    assert ans.handoff.department == "人力资源社会保障行政部门或者其他有关部门"
    assert wage in ans.text and "12345" in ans.text and [c.doc_id for c in ans.citations] == ["wages"]
    # nothing in the hits about this kind of complaint: channel only, no department invented
    noise = respond(
        sure(Query.parse("楼下烧烤店天天吵到半夜 投诉"), "complaint"),
        hits[1:],
        answerer=ExtractiveAnswerer(settings),
        settings=settings,
    )
    assert noise.handoff is not None and noise.handoff.department == "" and not noise.citations
    assert "12345" in noise.text


def test_hong_kong_travel_documents_are_a_mainland_service() -> None:
    assert Query.parse("想去香港自由行 签注要带啥").places == ()
    assert Query.parse("港澳通行证签注在哪办 去澳门").places == ()
    assert [p.name for p in Query.parse("香港的公屋怎么申请").places] == ["香港"]
    assert features("港澳通行证签注怎么续签")[1].count("place_outside_gd") == 0


def test_model_other_region_does_not_let_national_documents_answer_local_rules(settings: Settings) -> None:
    national = [
        hit("law", "户口登记条例全文。", title="中华人民共和国户口登记条例", type="law", region="全国")
    ]
    xian = Query.parse("西安落户现在是什么政策")
    assert uncovered_place(xian.places, national) is None  # the place check alone: answered
    assert uncovered_place(xian.places, national, national_covers=False) is not None
    ans = respond(
        sure(xian, "other_region"), national, answerer=ExtractiveAnswerer(settings), settings=settings
    )
    assert ans.handoff is not None and ans.handoff.reason == "other_region" and "西安" in ans.text
