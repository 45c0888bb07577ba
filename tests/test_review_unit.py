"""Pure parts of the review package: topic clustering, insight figures, SVG charts, the evaluation export."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import numpy as np

from assistant.curated import CuratedEntry
from assistant.review import charts, exports, insights


def _onehot(groups: dict[str, int]) -> insights.Embed:
    def embed(text: str) -> np.ndarray:
        v = np.zeros(8, dtype=np.float32)
        v[groups[text]] = 1.0
        return v

    return embed


def test_cluster_groups_by_vector_counts_duplicates_and_names_by_most_frequent() -> None:
    embed = _onehot({"社保卡怎么补办": 0, "社保卡丢了咋办": 0, "护照怎么办": 1})
    items = [
        ("社保卡怎么补办？", "2026-11-01"),
        ("社保卡怎么补办", "2026-11-02"),
        ("社保卡丢了咋办", "2026-11-02"),
        ("护照怎么办", "2026-11-02"),
    ]
    topics = insights.cluster(items, embed)
    assert [(t.label, t.count) for t in topics] == [("社保卡怎么补办？", 3), ("护照怎么办", 1)]
    d = topics[0].to_dict(["2026-11-01", "2026-11-02"])
    assert d["by_day"] == {"2026-11-01": 1, "2026-11-02": 2} and d["trend"] == 1


def _rec(q: str, **kw: object) -> dict:
    base = {
        "request_id": q,
        "question": q,
        "answer": "",
        "answered_by": "extractive",
        "handoff": "",
        "confidence": 0.9,
        "department": "人社局",
        "citations": [{"doc_id": "d1", "title": "社保卡"}],
        "rating": "",
        "created_at": time.time(),
    }
    return {**base, **kw}


def test_compute_figures() -> None:
    recs = [
        _rec("a", rating="down"),
        _rec("b", rating="up"),
        _rec("c", answered_by="handoff", handoff="no_knowledge", department="", citations=[]),
        _rec("d", confidence=0.2),
    ]
    d = insights.compute(recs, _onehot({"a": 0, "b": 1, "c": 2, "d": 3}))
    assert d["total"] == 4 and d["unanswered_total"] == 2
    assert {t["label"] for t in d["unanswered_topics"]} == {"c", "d"}
    assert d["thumbs_down_by_department"] == [{"name": "人社局", "rated": 2, "down": 1, "rate": 0.5}]
    assert (
        d["handoff_reasons"][0]["reason"] == "no_knowledge"
        and d["handoff_by_department"][0]["department"] == "未知部门"
    )
    assert {p["answered_by"]: p["share"] for p in d["answer_paths"]} == {"extractive": 0.75, "handoff": 0.25}


def test_charts_are_well_formed_accessible_svg_with_escaped_text() -> None:
    svg = charts.bar_chart("x", "标题<&>", [("部门<script>", 3), ("另一个", 1)], unit="次")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img" and root.get("aria-labelledby") == "x-t x-d"
    assert root.find(f"{ns}title").text == "标题<&>"  # type: ignore[union-attr]
    assert "部门<script>：3次" in root.find(f"{ns}desc").text  # type: ignore[union-attr,operator]
    assert "<script>" not in svg
    ET.fromstring(charts.column_chart("y", "每日", [("2026-11-01", 2), ("2026-11-02", 0)]))
    assert "没有数据" in charts.bar_chart("z", "空", [])


def test_eval_export_rules() -> None:
    rec = lambda rid, verdict, **kw: {  # noqa: E731
        "request_id": rid,
        "question": kw.pop("q", "办护照要什么"),
        "answer": "答",
        "department": "",
        "citations": [{"doc_id": "guide-passport"}, {"doc_id": "faq-x"}],
        "handoff": "",
        "review": {"verdict": verdict},
        **kw,
    }
    fix = CuratedEntry(
        id="7", questions=["居住证要什么材料？"], answer="身份证", sources=["guide-residence"], updated_at=1
    )
    out = exports.eval_dataset(
        [
            rec("1", "correct"),
            rec("2", "wrong", q="居住证要什么材料"),
            rec("3", "wrong", q="没有修正的问题"),
            rec("4", "correct", handoff="complaint"),
            rec("5", "correct", citations=[{"doc_id": "curated:3"}]),
        ],
        [fix],
    )
    rows = {r["id"]: r for r in out.rows}
    assert rows["review-1"]["gold_passage_ids"] == ["guide-passport", "faq-x"]
    assert (
        rows["review-2"]["gold_passage_ids"] == ["guide-residence"] and rows["review-2"]["answer"] == "身份证"
    )
    assert rows["review-4"]["should_handoff"] is True
    assert [s["request_id"] for s in out.skipped] == ["3", "5"]
