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


def test_topic_boost_keeps_a_follow_up_on_the_previous_answers_documents(mini_settings: Settings) -> None:
    """A follow-up searched with ``prefer_docs`` moves the topic's document up; the boost, not a filter."""
    query = "需要多久"
    plain = [h.doc_id for h in _retriever(mini_settings).search(query, k=20)]
    topic = next(d for d in ("guide-passport", "guide-residence-permit") if plain[0] != d)
    prefer = Filters(prefer_docs=(topic,))
    boosted = [h.doc_id for h in _retriever(mini_settings).search(query, k=20, filters=prefer)]
    assert topic in boosted and (topic not in plain or boosted.index(topic) < plain.index(topic))
    strong = _retriever(mini_settings, topic_boost=5.0).search(query, k=20, filters=prefer)
    assert strong[0].doc_id == topic
    off = _retriever(mini_settings, topic_boost=0.0).search(query, k=20, filters=prefer)
    assert off[0].doc_id == plain[0]


def test_topic_documents_are_scored_even_when_neither_side_proposes_them(mini_settings: Settings) -> None:
    r = _retriever(mini_settings, dense_candidates=1, keyword_candidates=1)
    alone = {h.doc_id for h in r.search("低保标准", k=10)}
    topic = next(d for d in ("guide-passport", "guide-residence-permit") if d not in alone)
    hits = r.search("低保标准", k=10, filters=Filters(prefer_docs=(topic,)))
    assert topic in {h.doc_id for h in hits}


def test_colloquial_keys_are_generated_from_the_items_own_names() -> None:
    from assistant.ingest.keys import colloquial_keys, name_variants
    from assistant.synonyms import curated
    from assistant.types import Document

    assert "残疾人证换领" in name_variants("《中华人民共和国残疾人证》换领")
    assert "港澳通行证个人游签注" in name_variants("办理往来港澳通行证个人游签注")
    guide = Document(id="g", title="机动车驾驶证增加准驾车型", type="guide", text="", aliases=["增驾"])
    keys = colloquial_keys(guide, curated())
    assert "驾照" in keys  # synonyms.tsv: 驾照 → 机动车驾驶证, read backwards
    assert "增驾" in keys
    assert "机动车驾驶证增加准驾车型要什么材料" not in keys and "增驾要什么材料" in keys  # shortest name
    law = Document(id="l", title="机动车驾驶证申领和使用规定", type="law", text="")
    assert colloquial_keys(law, curated()) == []  # service items only


def test_colloquial_keys_reach_the_keyword_index(settings_factory: Any) -> None:
    """Every chunk of a guide carries its keys and the BM25 text includes them (the shown text does not);
    ``chunking.colloquial_keys = false`` leaves them out."""
    from assistant.ingest.build import ingest, keyword_text

    for enabled in (True, False):
        settings = settings_factory(chunking={"colloquial_keys": enabled})
        ingest(settings)
        r = _retriever(settings, fusion="keyword")
        guide = [c for c in r.index.chunks if c.doc_id == "guide-passport"]
        assert guide
        for chunk in guide:
            keys = chunk.metadata.get("keys", [])
            assert ("普通护照签发怎么办" in keys or "办护照怎么办" in keys) is enabled
            assert all(k in keyword_text(chunk) for k in keys) and not any(k in chunk.text for k in keys[-4:])
        if enabled:
            assert not any(
                c.metadata.get("keys") for c in r.index.chunks if c.metadata.get("type") != "guide"
            )
