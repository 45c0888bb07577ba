"""Insights over stored exchanges: topics of unanswered and low-confidence questions (clustered with the
embedder), most-asked topics, hand-offs by reason and department, thumbs-down rates by department and
by document, and the answer-path mix — each with an SVG chart (``charts``).

Clustering is greedy and single-pass (numpy only): questions, most frequent first, join the first
topic whose centroid they reach ``TOPIC_COSINE`` with, else start one; a topic is named by its most
frequent question. Good enough for tens of thousands of short questions on a 2-core box; vectors are
cached per question text, and at most ``MAX_CLUSTERED`` of the newest questions are clustered.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..text import normalize_query
from . import charts

TOPIC_COSINE = 0.86  # query-embedding cosine at which two questions count as one topic
MAX_CLUSTERED = 1500
LOW_CONFIDENCE = 0.5  # default "confidence below" for the unanswered/low-confidence topics
UNANSWERED_REASONS = ("low_confidence", "no_knowledge")
ANSWER_PATHS = {
    "extractive": "摘录答复",
    "llm": "大模型答复",
    "llm_fallback_extractive": "大模型回退摘录",
    "curated": "人工审核答复",
    "handoff": "转人工",
    "clarify": "澄清追问",
    "scope": "超出范围",
    "greeting": "问候",
    "screened": "内容拦截",
}
HANDOFF_REASONS = {
    "low_confidence": "把握不足",
    "no_knowledge": "知识库无答案",
    "individual_case": "个案办理",
    "complaint": "投诉举报",
    "human_requested": "要求人工",
    "other_region": "其他地区",
}

Embed = Callable[[str], np.ndarray]
VECTOR_CACHE = 20_000


class QuestionVectors:
    """``embed(question)`` with the assistant's query embedder, cached by text (insights re-cluster the
    same questions on every visit; most of them were embedded before)."""

    def __init__(self, embed_query: Embed) -> None:
        self._embed = embed_query
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, text: str) -> np.ndarray:
        vec = self._cache.get(text)
        if vec is None:
            if len(self._cache) >= VECTOR_CACHE:
                self._cache.clear()
            vec = self._cache[text] = np.asarray(self._embed(text[:256]), dtype=np.float32)
        return vec


@dataclass
class Topic:
    label: str
    count: int = 0
    questions: Counter[str] = field(default_factory=Counter)
    days: Counter[str] = field(default_factory=Counter)
    centroid: np.ndarray | None = None

    def to_dict(self, days: Sequence[str]) -> dict[str, Any]:
        series = [self.days.get(d, 0) for d in days]
        half = len(series) // 2
        return {
            "label": self.label,
            "count": self.count,
            "examples": [q for q, _ in self.questions.most_common(5)],
            "by_day": dict(zip(days, series, strict=True)),
            "trend": sum(series[half:]) - sum(series[:half]),  # later half minus earlier half
        }


def cluster(items: Sequence[tuple[str, str]], embed: Embed, threshold: float = TOPIC_COSINE) -> list[Topic]:
    """Group (question, day) pairs into topics, biggest first."""
    freq: Counter[str] = Counter()
    days: dict[str, Counter[str]] = defaultdict(Counter)
    shown: dict[str, str] = {}
    for question, day in items:
        key = normalize_query(question).strip("？?。! ")
        if not key:
            continue
        freq[key] += 1
        days[key][day] += 1
        shown.setdefault(key, question)
    topics: list[Topic] = []
    sums = np.zeros((0, 0), dtype=np.float32)  # one row per topic: the sum of its members' vectors
    norms = np.zeros(0, dtype=np.float32)
    for key, n in freq.most_common():
        vec = np.asarray(embed(key), dtype=np.float32)
        if not topics:
            sums = np.zeros((len(freq), vec.shape[0]), dtype=np.float32)
            norms = np.ones(len(freq), dtype=np.float32)
        k = len(topics)
        cos = np.einsum("ij,j->i", sums[:k], vec) / norms[:k] if k else np.zeros(0)
        best = int(np.argmax(cos)) if k and float(cos.max()) >= threshold else -1
        if best < 0:
            topics.append(Topic(label=shown[key]))
            best = k
        t = topics[best]
        t.count += n
        t.questions[shown[key]] += n
        t.days.update(days[key])
        sums[best] += vec * n
        norms[best] = float(np.linalg.norm(sums[best])) or 1.0
    for t in topics:
        t.label = t.questions.most_common(1)[0][0]
    return sorted(topics, key=lambda t: -t.count)


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date().isoformat()


def _days(records: Sequence[dict[str, Any]]) -> list[str]:
    if not records:
        return []
    first = dt.date.fromisoformat(_day(min(r["created_at"] for r in records)))
    last = dt.date.fromisoformat(_day(max(r["created_at"] for r in records)))
    n = min((last - first).days, 59)
    return [(last - dt.timedelta(days=n - i)).isoformat() for i in range(n + 1)]


def _rate(down: Counter[str], rated: Counter[str], top: int = 10) -> list[dict[str, Any]]:
    order = sorted(rated, key=lambda k: (-down[k] / rated[k], -rated[k]))[:top]
    return [
        {"name": k, "rated": rated[k], "down": down[k], "rate": round(down[k] / rated[k], 3)} for k in order
    ]


def is_unanswered(rec: dict[str, Any], below: float) -> bool:
    """Handed off for want of knowledge, or answered with confidence below ``below``."""
    if rec.get("handoff") in UNANSWERED_REASONS:
        return True
    conf = rec.get("confidence")
    return (
        rec.get("answered_by") not in ("handoff", "scope", "greeting", "curated")
        and conf is not None
        and conf < below
    )


def compute(
    records: Sequence[dict[str, Any]], embed: Embed, *, below: float = LOW_CONFIDENCE, top: int = 10
) -> dict[str, Any]:
    """Every figure of the insights page from ``exchange_record`` dicts (newest first is fine)."""
    recent = sorted(records, key=lambda r: -r["created_at"])[:MAX_CLUSTERED]
    days = _days(recent)
    unanswered = [r for r in recent if is_unanswered(r, below)]
    unanswered_topics = cluster([(r["question"], _day(r["created_at"])) for r in unanswered], embed)[:top]
    asked_topics = cluster([(r["question"], _day(r["created_at"])) for r in recent], embed)[:top]
    paths = Counter(r["answered_by"] for r in records)
    reasons = Counter(r["handoff"] for r in records if r.get("handoff"))
    reason_dept: Counter[tuple[str, str]] = Counter(
        (r["handoff"], r.get("department") or "未知部门") for r in records if r.get("handoff")
    )
    rated_d, down_d, rated_doc, down_doc = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    per_day = Counter(_day(r["created_at"]) for r in records)
    for r in records:
        if r.get("rating") not in ("up", "down"):
            continue
        dept = r.get("department") or "未知部门"
        rated_d[dept] += 1
        down_d[dept] += r["rating"] == "down"
        for c in r.get("citations", [])[:1]:
            name = f"{c.get('title', '')}（{c.get('doc_id', '')}）"
            rated_doc[name] += 1
            down_doc[name] += r["rating"] == "down"
    total = len(records)
    out: dict[str, Any] = {
        "total": total,
        "days": days,
        "per_day": {d: per_day.get(d, 0) for d in days},
        "unanswered_total": len(unanswered),
        "confidence_below": below,
        "unanswered_topics": [t.to_dict(days) for t in unanswered_topics],
        "top_topics": [t.to_dict(days) for t in asked_topics],
        "answer_paths": [
            {"answered_by": k, "name": ANSWER_PATHS.get(k, k), "count": v, "share": round(v / total, 3)}
            for k, v in paths.most_common()
        ],
        "handoff_reasons": [
            {"reason": k, "name": HANDOFF_REASONS.get(k, k), "count": v} for k, v in reasons.most_common()
        ],
        "handoff_by_department": [
            {"reason": k[0], "department": k[1], "count": v} for k, v in reason_dept.most_common(top * 2)
        ],
        "thumbs_down_by_department": _rate(down_d, rated_d, top),
        "thumbs_down_by_document": _rate(down_doc, rated_doc, top),
    }
    out["charts"] = _charts(out)
    return out


def _charts(d: dict[str, Any]) -> dict[str, str]:
    return {
        "per_day": charts.column_chart("c-day", "每日提问量", list(d["per_day"].items())),
        "unanswered_topics": charts.bar_chart(
            "c-unans",
            "未解答 / 低把握问题主题",
            [(t["label"], t["count"]) for t in d["unanswered_topics"]],
            unit="次",
        ),
        "top_topics": charts.bar_chart(
            "c-top", "热门问题主题", [(t["label"], t["count"]) for t in d["top_topics"]], unit="次"
        ),
        "answer_paths": charts.bar_chart(
            "c-path", "答复方式占比", [(p["name"], p["share"]) for p in d["answer_paths"]], percent=True
        ),
        "handoff_reasons": charts.bar_chart(
            "c-hand", "转人工原因", [(h["name"], h["count"]) for h in d["handoff_reasons"]], unit="次"
        ),
        "thumbs_down_by_department": charts.bar_chart(
            "c-down",
            "各部门差评率",
            [(r["name"], r["rate"]) for r in d["thumbs_down_by_department"]],
            percent=True,
        ),
    }
