"""Place names in questions vs the regions of the retrieved documents, and the hand-off it triggers."""

from __future__ import annotations

from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.respond import respond
from assistant.config import Settings
from assistant.query import Query
from assistant.regions import covers, named_places, place_of, uncovered_place
from assistant.types import Chunk, Hit


def hit(doc_id: str, title: str, region: str) -> Hit:
    meta = {"doc_id": doc_id, "title": title, "type": "policy", "status": "现行有效", "region": region}
    return Hit(
        chunk=Chunk(
            id=f"{doc_id}#0",
            doc_id=doc_id,
            text=f"{title}。申请人应当提交申请表。",
            title=title,
            metadata=meta,
        ),
        score=1.0,
        dense_score=0.9,
    )


GZ = [hit("gz-36", "广州市积分制入户管理办法", "广州市"), hit("gd-1", "户籍迁入审批", "广东省")]


def test_names_are_found_longest_first_and_regions_resolve() -> None:
    assert [p.name for p in named_places("从武汉转社保到广州市天河区")] == ["天河区", "武汉", "广州"]
    assert named_places("公积金怎么提取") == [] and named_places("中山公园几点开门") == []  # 中山: left out
    assert place_of("全国") is None and place_of("") is None and place_of("火星") is None
    gd, gz, th = place_of("广东省"), place_of("广州市"), place_of("天河区")
    assert gd and gz and th and (gz.province, gz.city) == ("广东", "广州") and th.city == "广州"
    shenzhen = named_places("深圳")[0]
    assert covers(gd, shenzhen) and not covers(gz, shenzhen) and covers(None, shenzhen)
    assert covers(gz, th) and not covers(th, named_places("越秀区")[0])
    assert not covers(place_of("北京市"), shenzhen) and covers(place_of("北京市"), named_places("朝阳区")[0])


def test_only_a_question_whose_every_place_is_uncovered_is_flagged() -> None:
    flagged = uncovered_place(named_places("上海的积分落户政策是什么"), GZ)
    assert flagged is not None and flagged.name == "上海"
    assert (
        uncovered_place(named_places("深圳的人才住房补贴怎么申请"), GZ) is None
    )  # a 广东省 document applies to 深圳
    assert (
        uncovered_place(named_places("深圳的积分入户"), GZ[:1]) is not None
    )  # Guangzhou's city rules do not
    assert uncovered_place(named_places("从武汉转社保到广州"), GZ) is None  # one named place is covered
    assert uncovered_place(named_places("积分落户政策"), GZ) is None  # no place named
    national = [hit("law-1", "居住证暂行条例", "全国")]
    assert (
        uncovered_place(named_places("上海居住证怎么办"), national) is None
    )  # national rules apply everywhere
    titled = [hit("x", "上海市居住证办理指南", "")]
    assert uncovered_place(named_places("上海居住证怎么办"), titled) is None  # the title names it


def test_respond_hands_off_to_the_named_place() -> None:
    settings = Settings(embedder={"name": "hash"}, today="2026-11-26")
    answer = respond(
        Query.parse("上海的积分落户政策是什么"), GZ, answerer=ExtractiveAnswerer(settings), settings=settings
    )
    assert answer.answered_by == "handoff" and answer.handoff and answer.handoff.reason == "other_region"
    assert "上海" in answer.text and not answer.handoff.department_phone and not answer.citations
    ok = respond(
        Query.parse("广州积分入户怎么申请"), GZ, answerer=ExtractiveAnswerer(settings), settings=settings
    )
    assert ok.answered_by != "handoff"
