"""``--mode intent``: score an intent classifier alone on the datasets (no index, no answers).

Per row: the classifier's label and calibrated probability. Report: intent accuracy and per-label
precision/recall on rows labelled with an ``intent``; hand-off recall (rows with ``should_handoff``
predicted as anything but ``question``) and false hand-off (other rows predicted as anything but
``question``), overall and per dataset. Written as report.json, report.md and per_question.jsonl.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.intent import IntentClassifier

from . import metrics as m
from .dataset import EvalRow
from .report import fmt, write_report_files
from .runner import intent_summary


def evaluate_intents(rows: Sequence[EvalRow], classifier: IntentClassifier) -> list[dict[str, Any]]:
    """One record per row, in dataset order."""
    records = []
    for row in rows:
        start = time.perf_counter()
        p = classifier.predict(row.question)
        records.append(
            {
                "id": row.id,
                "dataset": row.dataset,
                "question": row.question,
                "intent": row.intent,
                "should_handoff": row.should_handoff,
                "got_intent": p.label,
                "p": round(p.confidence, 4),
                "features": list(p.features),
                "latency_ms": round((time.perf_counter() - start) * 1000, 2),
            }
        )
    return records


def _handoff(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    should = [r for r in records if r["should_handoff"]]
    answerable = [r for r in records if not r["should_handoff"]]
    return {
        "handoff_recall": m.rate(r["got_intent"] != "question" for r in should),
        "false_handoff_rate": m.rate(r["got_intent"] != "question" for r in answerable),
    }


def summarize_intents(records: Sequence[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    """The ``report.json`` dict of an intent-mode run."""
    by_dataset = []
    for name in dict.fromkeys(r["dataset"] for r in records):
        mine = [r for r in records if r["dataset"] == name]
        acc = intent_summary(mine).get("accuracy")
        by_dataset.append({"dataset": name, "count": len(mine), "intent_accuracy": acc, **_handoff(mine)})
    return {
        "mode": "intent",
        "count": len(records),
        "config": config,
        "intent": intent_summary(records),
        "handoff": _handoff(records),
        "latency": {"p50_ms": m.percentile([r["latency_ms"] for r in records], 50)},
        "breakdown": {"by_dataset": by_dataset},
        "errors": [
            {k: r[k] for k in ("id", "dataset", "question", "intent", "got_intent", "p")}
            for r in records
            if r["intent"] and r["got_intent"] != r["intent"]
        ],
    }


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Intent evaluation",
        "",
        f"- classifier: {report['config'].get('classifier')} · questions: {report['count']}",
        "",
        "| dataset | count | intent accuracy | hand-off recall | false hand-off |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {d['dataset']} | {d['count']} | {fmt(d['intent_accuracy'])} | {fmt(d['handoff_recall'])} "
        f"| {fmt(d['false_handoff_rate'])} |"
        for d in report["breakdown"]["by_dataset"]
    ]
    intent = report["intent"]
    if "by_label" in intent:
        lines += ["", "| label | support | precision | recall |", "|---|---|---|---|"]
        lines += [
            f"| {label} | {v['support']} | {fmt(v['precision'])} | {fmt(v['recall'])} |"
            for label, v in intent["by_label"].items()
        ]
    return "\n".join(lines) + "\n"


def write_intent_run(out: Path, report: dict[str, Any], records: Sequence[dict[str, Any]]) -> None:
    """report.json, report.md and per_question.jsonl in ``out``."""
    write_report_files(out, report, records, render_markdown(report))
