"""Extractive answers: verbatim quoting, citations, validity filtering, service cards."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.answering import make_answerer
from assistant.answering.cards import build_card, card_text, fields_from_chunks, question_aspects
from assistant.answering.extractive import (
    GAP,
    ExtractiveAnswerer,
    best_paragraphs,
    cut_at_sentence,
    lead_sentence,
    merge_overlapping,
)
from assistant.answering.grounding import grounded_rate
from assistant.answering.respond import respond
from assistant.config import Settings
from assistant.query import Query
from assistant.text import strip_punct
from assistant.types import Chunk, Hit


def hit(doc_id: str, text: str, score: float, n: int = 0, title: str = "", **meta: Any) -> Hit:
    m = {"doc_id": doc_id, "title": title or doc_id, "type": "faq", "status": "现行有效", **meta}
    chunk = Chunk(
        id=f"{doc_id}#{n}",
        doc_id=doc_id,
        text=text,
        title=title or doc_id,
        metadata=m,
        kind=meta.get("kind", ""),
    )
    return Hit(chunk=chunk, score=score)


@pytest.fixture
def settings() -> Settings:
    return Settings(embedder={"name": "hash"}, today="2025-06-01")


PASSAGE = "遇到险情千万不能慌，一定要冷静沉着、果断应对。及时向110、119等电话寻求帮助，说明事发的详细地点。"


def test_faq_answer_quotes_top_passage_and_cites_three_docs(settings: Settings) -> None:
    settings.answer.max_citations = 3
    hits = [
        hit("p1", PASSAGE, 0.9),
        hit("p2", "暴雨天气尽量减少外出。", 0.7),
        hit("p1", PASSAGE, 0.6, n=0),
        hit("p3", "地震时保护头部。", 0.5),
        hit("p4", "寒潮来临注意保暖。", 0.4),
    ]
    ans = make_answerer(settings).answer("遇到险情怎么办", hits)
    assert ans.answered_by == "extractive"
    assert ans.text == PASSAGE + "[1]"
    assert [c.doc_id for c in ans.citations] == ["p1", "p2", "p3"]
    assert [c.n for c in ans.citations] == [1, 2, 3]
    assert ans.citations[0].snippet == PASSAGE
    assert grounded_rate(ans.text, [c.snippet for c in ans.citations]) == 1.0


def test_repealed_and_expired_documents_are_not_cited(settings: Settings) -> None:
    hits = [
        hit("old", "旧办法规定需要十份材料。", 0.95, status="已废止", type="policy"),
        hit("exp", "过期通知内容。", 0.9, expiry_date="2024-12-31"),
        hit(
            "cur",
            "现行办法规定需要两份材料。",
            0.5,
            type="policy",
            title="现行办法",
            doc_number="京政发〔2024〕1号",
        ),
    ]
    ans = respond(Query.parse("需要几份材料"), hits, answerer=ExtractiveAnswerer(settings), settings=settings)
    assert [c.doc_id for c in ans.citations] == ["cur"]
    assert "旧办法" not in ans.text and "过期" not in ans.text
    assert ans.text.startswith("根据《现行办法》（京政发〔2024〕1号）：")
    assert ans.citations[0].doc_number == "京政发〔2024〕1号"


def test_no_current_hits_hands_off(settings: Settings) -> None:
    old = [hit("old", "x", 1.0, status="已废止")]
    ans = respond(Query.parse("问题"), old, answerer=ExtractiveAnswerer(settings), settings=settings)
    assert ans.answered_by == "handoff" and ans.handoff is not None and not ans.citations
    assert "12345" in ans.text


def test_long_document_is_assembled_from_chunks_and_cut_at_sentence_end(settings: Settings) -> None:
    sentences = [f"第{i}句话说明了一项具体的规定内容，请市民注意。" for i in range(60)]
    full = "".join(sentences)
    chunks = [full[i : i + 400] for i in range(0, len(full), 340)]  # 60-char overlap like the chunker
    store = {
        "doc": [
            Chunk(id=f"doc#{i}", doc_id="doc", text=t, title="doc", metadata={"type": "page"})
            for i, t in enumerate(chunks)
        ]
    }
    ans = ExtractiveAnswerer(settings, chunk_source=lambda d: store[d]).answer(
        "规定", [hit("doc", chunks[0], 1.0, type="page")]
    )
    body = ans.text.removesuffix("[1]")
    assert full.startswith(body)  # verbatim prefix of the document, overlaps removed
    assert 600 < len(body) <= 800 and body.endswith("。")


def test_merge_overlapping_and_cut() -> None:
    assert merge_overlapping(["甲乙丙丁戊", "丁戊己庚"]) == "甲乙丙丁戊己庚"
    assert cut_at_sentence("一二三。四五六。七八九。", 9) == "一二三。四五六。"


def test_law_answer_picks_the_relevant_article(settings: Settings) -> None:
    text = "第一条 为了规范居住证管理，制定本条例。第二条 申领居住证应当提交居民身份证和居住证明。第三条 本条例自公布之日起施行。"
    ans = ExtractiveAnswerer(settings).answer(
        "申领居住证要提交什么", [hit("law", text, 1.0, type="law", title="居住证暂行条例")]
    )
    assert "第二条" in ans.text and "第一条" not in ans.text and "第三条" not in ans.text


def test_law_answer_expands_colloquial_terms_and_prefers_figures_for_how_many(settings: Settings) -> None:
    text = (
        "第一条 为了维护职工休息休假权利，调动职工工作积极性，制定本条例。"
        "第二条 单位应当保证职工享受带薪年休假。"
        "第三条 职工累计工作已满1年不满10年的，年休假5天；已满10年不满20年的，年休假10天。"
    )
    ans = ExtractiveAnswerer(settings).answer(
        "一年有几天年假", [hit("law", text, 1.0, type="law", title="职工带薪年休假条例")]
    )
    assert "第三条" in ans.text and "第一条" not in ans.text


NOTICE = "\n".join(
    [
        "穗民规字〔2025〕2号",
        "关于印发2025年最低生活保障标准的通知",
        "各区人民政府，市政府各部门、各直属机构：",
        "经市人民政府同意，现公布我市2025年城乡最低生活保障等标准，现就有关事项通知如下：",
        "广州市民政局",
        "2025年5月30日",
        "（联系科室：社会救助处，联系电话：12345678）",
        "一、适用范围",
        "本通知适用于本市户籍居民中的困难家庭，家庭成员的认定按照本市社会救助家庭经济状况核对的规定执行。"
        * 6,
        "二、社会救助标准",
        "（一）全市城乡最低生活保障标准为每人每月1309元。",
        "（二）最低生活保障边缘家庭认定标准按最低生活保障标准的1.5倍确定。",
        "三、其他事项",
        "各区要做好宣传解释工作，确保困难群众及时享受救助待遇，并在重大节假日期间组织走访慰问。" * 6,
    ]
)


def notice_hit(text: str = NOTICE, n: int = 0, score: float = 1.0) -> Hit:
    return hit(
        "notice",
        text,
        score,
        n,
        type="policy",
        title="关于印发2025年最低生活保障标准的通知",
        doc_number="穗民规字〔2025〕2号",
    )


def test_notice_answer_skips_the_cover_letter_and_quotes_the_asked_figure(settings: Settings) -> None:
    ans = ExtractiveAnswerer(settings).answer("低保标准是多少", [notice_hit()])
    body = ans.text.split("：", 1)[1]  # after the 根据《…》（文号）： lead
    assert body.startswith("二、社会救助标准\n（一）全市城乡最低生活保障标准为每人每月1309元")
    for cover in ("各区人民政府", "现就有关事项通知如下", "2025年5月30日", "联系科室", "穗民规字"):
        assert cover not in body


def test_notice_answer_reads_from_the_top_when_no_paragraph_stands_out(settings: Settings) -> None:
    ans = ExtractiveAnswerer(settings).answer("这个通知讲了什么", [notice_hit()])
    body = ans.text.split("：", 1)[1]
    assert body.startswith("一、适用范围") and "现印发" not in body and "各区人民政府" not in body


def test_notice_chunks_that_are_not_neighbours_are_quoted_with_a_gap_mark(settings: Settings) -> None:
    first = "一、社会救助标准\n（一）全市城乡最低生活保障标准为每人每月1309元。"
    later = "五、执行时间\n本标准自2025年6月1日起执行。"
    ans = ExtractiveAnswerer(settings).answer(
        "低保标准是多少", [notice_hit(first, 0, 0.9), notice_hit(later, 4, 0.8)]
    )
    assert "1309元。\n……\n五、执行时间" in ans.text


def test_a_quote_after_a_gap_does_not_open_with_the_gap_mark() -> None:
    filler = "本条适用于本市户籍居民中的困难家庭，认定按社会救助家庭经济状况核对的规定执行。" * 8
    text = f"一、适用范围\n{filler}\n{GAP}\n（一）全市城乡最低生活保障标准为每人每月1309元。\n{filler}"
    quote = best_paragraphs("低保标准是多少", text, 600)
    assert quote.startswith("（一）全市城乡最低生活保障标准为每人每月1309元")


GUIDE_CHUNKS = [
    ("受理条件", "conditions", "受理条件\n年满16周岁的中国公民。"),
    ("申请材料", "materials", "申请材料\n1. 居民身份证\n2. 户口簿\n3. 近期免冠照片"),
    (
        "办理时限与收费",
        "time_fees",
        "办理时限与收费\n法定办结时限：20(工作日)\n承诺办结时限：7(工作日)\n收费标准：不收费",
    ),
    (
        "办理地点与联系方式",
        "place_contact",
        "办理地点与联系方式\n办理地点：广州市天河区政务服务中心\n咨询电话：020-12345678",
    ),
]


def guide_hits() -> list[Hit]:
    return [
        hit(
            "g1",
            text,
            1.0 - i * 0.1,
            n=i,
            title="居民身份证申领",
            type="guide",
            department="广州市公安局",
            kind=kind,
        )
        for i, (_, kind, text) in enumerate(GUIDE_CHUNKS)
    ]


def test_card_fields_parsed_from_guide_chunks() -> None:
    chunks = [h.chunk for h in guide_hits()]
    for h, (section, _, _) in zip(chunks, GUIDE_CHUNKS, strict=True):
        h.section = section
    fields = fields_from_chunks(chunks)
    assert fields["materials"] == ["居民身份证", "户口簿", "近期免冠照片"]
    assert fields["location"] == "广州市天河区政务服务中心"
    assert fields["consult_phone"] == "020-12345678"
    card = build_card({"doc_id": "g1", "department": "广州市公安局"}, fields, title="居民身份证申领")
    keys = [f.key for f in card.fields]
    assert keys == [
        "conditions",
        "materials",
        "time_limit",
        "fees",
        "location",
        "phone",
    ]  # no 流程: source lacks it
    assert card.phone == "020-12345678"
    assert "承诺办结时限：7(工作日)" in next(f.value for f in card.fields if f.key == "time_limit")


def answer_lines(text: str) -> list[str]:
    """The card rows of an answer, header line left out."""
    return [ln for ln in text.split("\n")[1:] if ln.strip()]


def test_guide_answer_has_card_and_leads_with_the_asked_aspect(settings: Settings) -> None:
    ans = ExtractiveAnswerer(settings).answer("身份证要带什么材料", guide_hits())
    assert ans.card is not None and ans.card.title == "居民身份证申领"
    lines = answer_lines(ans.text)
    assert lines[0].startswith("所需材料：1. 居民身份证；2. 户口簿")  # the asked row first …
    assert any(ln.startswith("办理地点：") for ln in lines[1:])  # … then the rest of the card
    assert grounded_rate(ans.text, [ans.citations[0].snippet]) == 1.0
    where = answer_lines(ExtractiveAnswerer(settings).answer("在哪办，要多久", guide_hits()).text)
    assert where[0].startswith("办理时限：") or where[0].startswith("办理地点：")
    assert {where[0][:4], where[1][:4]} == {"办理地点", "办理时限"}
    colloquial = answer_lines(ExtractiveAnswerer(settings).answer("身份证要带啥", guide_hits()).text)
    assert colloquial[0].startswith("所需材料：")


def test_how_to_question_gets_conditions_materials_and_place_first(settings: Settings) -> None:
    lines = answer_lines(ExtractiveAnswerer(settings).answer("身份证怎么办理？", guide_hits()).text)
    assert [ln[:4] for ln in lines[:2]] == ["申请条件", "所需材料"]
    assert "办理地点：广州市天河区政务服务中心。" in lines
    overview = ExtractiveAnswerer(settings).answer("居民身份证申领", guide_hits())
    assert "办理地点：广州市天河区政务服务中心" in overview.text and "咨询电话" in overview.text


def test_card_from_canonical_fields_in_metadata(settings: Settings) -> None:
    fields = {"materials": ["护照申请表"], "fees": "120元", "online_url": "https://example.gov.cn/apply"}
    h = hit("g2", "护照办理", 1.0, type="guide", title="普通护照签发", fields=fields)
    ans = ExtractiveAnswerer(settings).answer("护照收费多少钱", [h])
    assert ans.card is not None and ans.card.online_url == "https://example.gov.cn/apply"
    assert "收费：120元" in ans.text


def test_question_aspects() -> None:
    assert question_aspects("需要带什么材料") == ["materials"]
    assert question_aspects("要带啥去补") == ["materials"]
    assert question_aspects("领证男的要满几岁") == ["conditions"]
    assert question_aspects("结婚证弄丢了 在哪补") == ["location"]
    assert question_aspects("在哪里办，要多久") == ["location", "time_limit"]
    assert card_text(build_card({}, {"fees": "免费"}), "收费吗") == ["收费：免费。"]


def test_answer_text_is_char_f1_friendly_for_short_passages(settings: Settings) -> None:
    ans = ExtractiveAnswerer(settings).answer("q", [hit("p", PASSAGE, 1.0)])
    got, ref = strip_punct(ans.text), strip_punct(PASSAGE)
    assert len(got) - len(ref) <= 1  # only the marker digit is extra


def test_chunker_layouts_are_unwrapped(settings: Settings) -> None:
    faq = hit("f", "问：公积金怎么提取？\n答：职工可以通过网上业务系统申请提取。", 1.0)
    assert (
        ExtractiveAnswerer(settings).answer("公积金提取", [faq]).text
        == "职工可以通过网上业务系统申请提取。[1]"
    )
    g = hit(
        "g",
        "护照签发 · 申请材料\n1. 居民身份证\n2. 照片",
        1.0,
        type="guide",
        title="护照签发",
        kind="materials",
    )
    ans = ExtractiveAnswerer(settings).answer("护照要什么材料", [g])
    assert ans.card is not None and ans.card.fields[0].items == ["居民身份证", "照片"]


RESIDENCE_LAW = (
    "第二条 公民离开常住户口所在地，到其他城市居住半年以上，符合有合法稳定就业、合法稳定住所、"
    "连续就读条件之一的，可以依照本条例的规定申领居住证。"
    "第三条 居住证是持证人在居住地居住、作为常住人口享受基本公共服务和便利、申请登记常住户口的证明。"
    "第九条 申领居住证，应当向居住地公安派出所或者受公安机关委托的社区服务机构提交本人居民身份证、"
    "本人相片以及居住地住址、就业、就读等证明材料。"
    "居住地住址证明包括房屋租赁合同、房屋产权证明文件、购房合同或者房屋出租人、用人单位、就读学校出具的住宿证明等。"
    "对符合居住证办理条件的，公安机关应当自受理之日起15日内制作发放居住证。"
)


def test_lead_sentence_states_the_asked_figure_verbatim() -> None:
    lead = lead_sentence("居住证交上去以后多久能拿到", [RESIDENCE_LAW])
    assert lead == "对符合居住证办理条件的，公安机关应当自受理之日起15日内制作发放居住证。"
    assert lead in RESIDENCE_LAW
    assert lead_sentence("居住证", [RESIDENCE_LAW]) == ""  # no aspect asked: no lead
    # the quote already opens with the answer: no lead repeated above it
    answer_first = RESIDENCE_LAW[RESIDENCE_LAW.index("对符合") :]
    assert lead_sentence("居住证交上去以后多久能拿到", [RESIDENCE_LAW], opening=answer_first) == ""


def test_law_answer_leads_with_the_sentence_that_answers(settings: Settings) -> None:
    law = hit("law", RESIDENCE_LAW, 1.0, type="law", title="居住证暂行条例", doc_number="国务院令第663号")
    ans = ExtractiveAnswerer(settings).answer("居住证交上去以后多久能拿到", [law])
    first = ans.text.split("\n", 1)[0]
    assert "15日内制作发放居住证" in first and first.endswith("[1]")
    assert first.startswith("根据《居住证暂行条例》（国务院令第663号）：")
    assert grounded_rate(ans.text, [ans.citations[0].snippet]) == 1.0


def test_how_to_question_on_a_law_leads_with_where_and_what_not_the_definition(settings: Settings) -> None:
    """issue 14: "居住证怎么办理？" answered from the regulation opened with 第三条 (what a 居住证 is)."""
    text = (
        "第三条 居住证是持证人在居住地居住、作为常住人口享受基本公共服务和便利、申请登记常住户口的证明。"
        "第九条 申领居住证，应当向居住地公安派出所或者受公安机关委托的社区服务机构提交本人居民身份证、"
        "本人相片以及居住地住址、就业、就读等证明材料。"
    )
    law = hit("law", text, 1.0, type="law", title="居住证暂行条例")
    ans = ExtractiveAnswerer(settings).answer("居住证怎么办理？", [law])
    first = ans.text.split("\n", 1)[0]
    assert first.startswith("根据《居住证暂行条例》：第九条 申领居住证，应当向居住地公安派出所")
    assert "第三条" not in first
    assert grounded_rate(ans.text, [ans.citations[0].snippet]) == 1.0
