"""The validity rule (assistant/validity.py): one rule, used by retrieval and by the last guard before answering."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.respond import respond
from assistant.config import Settings
from assistant.query import Query
from assistant.types import Chunk, Hit
from assistant.validity import ValidityTable, asks_for_history, current_hits, in_force, today_iso

TODAY = "2025-06-01"

CASES = [
    ({}, True),  # no status: 现行有效
    ({"status": "现行有效"}, True),
    ({"status": "已修订"}, False),  # superseded by a newer version: its text is no longer the rule
    ({"status": "已废止"}, False),
    ({"effective_date": "2025-06-01"}, True),  # in force from its effective date
    ({"effective_date": "2025-06-02"}, False),  # published, not yet in force
    ({"expiry_date": "2025-06-01"}, True),  # still in force on its last day
    ({"expiry_date": "2025-05-31"}, False),
    ({"status": "现行有效", "effective_date": "2020-01-01", "expiry_date": "2030-12-31"}, True),
]


@pytest.mark.parametrize(("meta", "expected"), CASES)
def test_in_force(meta: dict[str, str], expected: bool) -> None:
    assert in_force(meta, TODAY) is expected


def test_the_index_table_applies_the_same_rule() -> None:
    chunks = [
        Chunk(id=f"d{i}#0", doc_id=f"d{i}", text="x", title="t", metadata=m) for i, (m, _) in enumerate(CASES)
    ]
    table = ValidityTable.of(chunks)
    rows = np.arange(len(chunks))
    assert table.in_force(rows, TODAY).tolist() == [expected for _, expected in CASES]
    assert table.in_force(rows[::-1], TODAY).tolist() == [expected for _, expected in CASES][::-1]


def test_history_questions_and_today() -> None:
    assert asks_for_history("以前的公积金政策是什么") and asks_for_history("已废止的办法")
    assert not asks_for_history("公积金怎么提取")
    assert (
        today_iso("", "2025-01-02") == "2025-01-02" and today_iso("2024-03-04", "2025-01-02") == "2024-03-04"
    )
    assert today_iso() == dt.date.today().isoformat()


def _hit(doc_id: str, text: str, score: float, **meta: str) -> Hit:
    m = {"doc_id": doc_id, "title": doc_id, "type": "policy", **meta}
    return Hit(chunk=Chunk(id=f"{doc_id}#0", doc_id=doc_id, text=text, title=doc_id, metadata=m), score=score)


def test_current_hits_keeps_everything_only_when_told() -> None:
    hits = [_hit("old", "x", 1.0, status="已修订"), _hit("new", "y", 0.5)]
    assert [h.doc_id for h in current_hits(hits, TODAY)] == ["new"]
    assert [h.doc_id for h in current_hits(hits, TODAY, include_old=True)] == ["old", "new"]


def test_the_last_guard_before_answering_follows_the_same_rule() -> None:
    settings = Settings(embedder={"name": "hash"}, today=TODAY)
    hits = [
        _hit("旧办法", "旧办法规定需要十份材料。", 0.9, status="已修订"),
        _hit("新办法", "新办法规定需要两份材料。", 0.5, status="现行有效"),
    ]
    answerer = ExtractiveAnswerer(settings)
    now = respond(Query.parse("办法规定需要几份材料"), hits, answerer=answerer, settings=settings)
    assert [c.doc_id for c in now.citations] == ["新办法"]
    old = respond(Query.parse("以前的办法规定需要几份材料"), hits, answerer=answerer, settings=settings)
    assert old.citations[0].doc_id == "旧办法" and old.citations[0].status == "已修订"
