"""Hybrid retriever over the mini knowledge base: relevance, validity filtering, fusion modes, LangChain wrapper."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assistant.config import Settings
from assistant.embedders import make_embedder
from assistant.errors import InvalidInputError
from assistant.retrieval import HybridRetriever
from assistant.synonyms import expand_query, load_synonyms
from assistant.types import STATUS_REPEALED, Filters


def _retriever(settings: Settings, **retrieval: object) -> HybridRetriever:
    rs = settings.retrieval.model_copy(update=retrieval)
    r = HybridRetriever(settings.index_dir, make_embedder(settings.embedder), rs, settings.today)
    r.warm_up()
    return r


def test_finds_residence_permit_guide(mini_settings: Settings) -> None:
    hits = _retriever(mini_settings).search("居住证怎么办理", k=5)
    assert hits, "expected hits"
    assert "居住证" in hits[0].chunk.title
    assert all(h.score >= hits[-1].score for h in hits)


def test_never_returns_repealed_unless_history_asked(mini_settings: Settings) -> None:
    r = _retriever(mini_settings)
    repealed = {c.doc_id for c in r.index.chunks if c.metadata.get("status") == STATUS_REPEALED}
    assert repealed, "the mini knowledge base should contain a repealed document"
    title = next(c.title for c in r.index.chunks if c.doc_id in repealed)
    current = r.search(title, k=10)
    assert not {h.doc_id for h in current} & repealed
    history = r.search(title + " 以前的废止政策", k=10)
    assert {h.doc_id for h in history} & repealed
    assert {h.doc_id for h in r.search(title, k=10, filters=Filters(include_expired=True))} & repealed


@pytest.mark.parametrize("fusion", ["weighted", "rrf", "dense", "keyword"])
def test_every_fusion_mode_returns_ranked_hits(mini_settings: Settings, fusion: str) -> None:
    hits = _retriever(mini_settings, fusion=fusion).search("公租房申请条件", k=3)
    assert 0 < len(hits) <= 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_empty_query_is_invalid(mini_settings: Settings) -> None:
    with pytest.raises(InvalidInputError):
        _retriever(mini_settings).search("   ")


def test_synonyms_expand_colloquial_terms() -> None:
    table = load_synonyms({"居住证办理": ["居住证申领"]})
    assert "机动车驾驶证" in expand_query("驾照到期怎么换", table)
    assert "公共租赁住房" in expand_query("公租房怎么申请", table)
    assert "居住证申领" in expand_query("居住证办理要多久", table)
    assert expand_query("天气", table) == "天气"


def test_validity_follows_the_date_of_each_search(mini_settings: Settings) -> None:
    r = _retriever(mini_settings)
    expiring = {c.doc_id for c in r.index.chunks if c.metadata.get("expiry_date") == "2029-07-28"}
    assert expiring, "the mini knowledge base should contain a policy that expires on 2029-07-28"
    title = next(c.title for c in r.index.chunks if c.doc_id in expiring)
    assert {h.doc_id for h in r.search(title, k=10, filters=Filters(today="2029-07-28"))} & expiring
    assert not {h.doc_id for h in r.search(title, k=10, filters=Filters(today="2029-07-29"))} & expiring
    # no date in the filters: the retriever's own date (the settings' ``today``) decides
    assert {h.doc_id for h in r.search(title, k=10)} & expiring


def test_one_service_item_published_by_several_halls_takes_one_place(settings_factory: Any) -> None:
    from assistant.ingest.build import ingest

    settings: Settings = settings_factory()
    knowledge = settings.index_dir.parent / "knowledge_copies" / "guides"
    knowledge.mkdir(parents=True)
    base = {
        "事项名称": "机动车驾驶证期满换证",
        "实施主体": "广州市公安局",
        "地区": "广州市",
        "事项类型": "公共服务",
        "受理条件": "机动车驾驶证有效期满前九十日内，持证人可以申请换证。",
        "申请材料": ["居民身份证", "机动车驾驶证"],
    }
    for n, hall in enumerate(["天河车管所", "白云车管所", "番禺车管所"]):
        guide = {**base, "id": f"guide-renew-{n}", "办理地点": hall}
        (knowledge / f"renew_{n}.json").write_text(json.dumps(guide, ensure_ascii=False), encoding="utf-8")
    other = {**base, "id": "guide-lost", "事项名称": "机动车驾驶证遗失补证", "办理地点": "天河车管所"}
    other["受理条件"] = "机动车驾驶证遗失的，持证人可以申请补证。"
    (knowledge / "lost.json").write_text(json.dumps(other, ensure_ascii=False), encoding="utf-8")
    settings = settings.model_copy(update={"knowledge_dir": knowledge.parent})
    ingest(settings)

    hits = _retriever(settings).search("驾驶证到期换证", k=5)
    renew = {h.doc_id for h in hits if h.chunk.title == "机动车驾驶证期满换证"}
    assert len(renew) == 1, "the three halls' copies of one item should collapse to the best ranked"
    assert "guide-lost" in {h.doc_id for h in hits}, "the freed places go to other documents"


def test_fusion_settings_change_the_ranking(mini_settings: Settings) -> None:
    def ranking(**retrieval: object) -> list[str]:
        return [
            h.chunk.id for h in _retriever(mini_settings, **retrieval).search("居住证申领需要什么材料", k=8)
        ]

    dense, keyword = ranking(fusion="dense"), ranking(fusion="keyword")
    assert dense != keyword, "the two sides should disagree on this query"
    assert ranking(dense_weight=1.0, keyword_weight=0.0) == dense
    assert ranking(dense_weight=0.0, keyword_weight=1.0) == keyword
    assert ranking() not in (dense, keyword)  # the default weights mix both


def test_region_boost_setting_moves_the_asked_region_up(mini_settings: Settings) -> None:
    query, region = "办理需要什么材料", "广州市"
    plain = _retriever(mini_settings, region_boost=0.0).search(query, k=10, filters=Filters(region=region))
    boosted = _retriever(mini_settings, region_boost=10.0).search(query, k=10, filters=Filters(region=region))
    in_region = [h.chunk.metadata.get("region") == region for h in boosted]
    assert any(in_region), "the mini knowledge base should have a document of this region"
    assert in_region == sorted(in_region, reverse=True)  # every regional hit ahead of the others
    assert [h.chunk.id for h in plain] != [h.chunk.id for h in boosted]
