"""Compare two evaluation runs: every metric side by side with its difference, and the rows whose verdict changed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .dataset import DatasetError
from .report import fmt, metric_items

VERDICTS = ("hit@5", "answered", "declined")
MAX_CHANGED_SHOWN = 200


def load_run(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``report.json`` and ``per_question.jsonl`` of a run directory."""
    report_path, rows_path = path / "report.json", path / "per_question.jsonl"
    if not report_path.is_file():
        raise DatasetError(f"{path}: not an evaluation run (no report.json)")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        rows = (
            [json.loads(line) for line in rows_path.read_text(encoding="utf-8").splitlines() if line.strip()]
            if rows_path.is_file()
            else []
        )
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: unreadable run: {exc}") from exc
    return report, rows


def metric_diffs(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any, float | None]]:
    """(metric, value in A, value in B, B − A) for every headline metric and latency figure of either run."""
    names: list[str] = []
    va: dict[str, Any] = {}
    vb: dict[str, Any] = {}
    for report, target in ((a, va), (b, vb)):
        for group, key, value in metric_items(report):
            name = f"{group}.{key}"
            target[name] = value
            if name not in names:
                names.append(name)
        for key in ("p50_ms", "p95_ms"):
            name = f"latency.{key}"
            target[name] = (report.get("latency") or {}).get(key)
            if name not in names:
                names.append(name)
        target["count"] = report.get("count")
    names.append("count")
    out = []
    for name in names:
        x, y = va.get(name), vb.get(name)
        diff = y - x if isinstance(x, int | float) and isinstance(y, int | float) else None
        out.append((name, x, y, diff))
    return out


def verdicts(row: dict[str, Any]) -> dict[str, bool | None]:
    """The yes/no outcomes of one row that ``compare`` tracks (None: not applicable to this row/mode)."""
    return {
        "hit@5": (bool(row.get("hit@5")) if row.get("gold") else None),
        "answered": row.get("answered"),
        "declined": row.get("declined"),
    }


def changed_rows(rows_a: Sequence[dict[str, Any]], rows_b: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows (matched on dataset + id) whose hit@5, answered or hand-off verdict differs between runs."""
    index_b = {(r.get("dataset"), r.get("id")): r for r in rows_b}
    out = []
    for ra in rows_a:
        rb = index_b.get((ra.get("dataset"), ra.get("id")))
        if rb is None:
            continue
        va, vb = verdicts(ra), verdicts(rb)
        changes = {
            k: (va[k], vb[k]) for k in VERDICTS if va[k] is not None and vb[k] is not None and va[k] != vb[k]
        }
        if changes:
            out.append(
                {
                    "dataset": ra.get("dataset"),
                    "id": ra.get("id"),
                    "question": ra.get("question", ""),
                    "changes": changes,
                }
            )
    return out


def render(path_a: Path, path_b: Path) -> str:
    """The text ``python -m evals compare A B`` prints."""
    a, rows_a = load_run(path_a)
    b, rows_b = load_run(path_b)
    lines = [
        f"A: {path_a}  ({a.get('mode')}, {a.get('count')} questions, {a.get('config', {}).get('answerer', '')})",
        f"B: {path_b}  ({b.get('mode')}, {b.get('count')} questions, {b.get('config', {}).get('answerer', '')})",
        "",
        f"{'metric':<32}{'A':>10}{'B':>10}{'B-A':>10}",
    ]
    for name, x, y, diff in metric_diffs(a, b):
        if diff is None:
            d = "—"
        elif isinstance(diff, int):
            d = f"{diff:+d}"
        else:
            d = f"{diff:+.3f}" if abs(diff) < 10 else f"{diff:+.1f}"
        lines.append(f"{name:<32}{fmt(x):>10}{fmt(y):>10}{d:>10}")
    keys_a = {(r.get("dataset"), r.get("id")) for r in rows_a}
    keys_b = {(r.get("dataset"), r.get("id")) for r in rows_b}
    if keys_a != keys_b:
        lines += ["", f"rows only in A: {len(keys_a - keys_b)}, only in B: {len(keys_b - keys_a)}"]
    changed = changed_rows(rows_a, rows_b)
    lines += ["", f"rows that changed verdict: {len(changed)}"]
    for row in changed[:MAX_CHANGED_SHOWN]:
        what = "; ".join(f"{k} {fmt(x)}→{fmt(y)}" for k, (x, y) in row["changes"].items())
        q = " ".join(str(row["question"]).split())
        lines.append(f"  {row['dataset']}/{row['id']}: {what}  | {q[:40]}")
    if len(changed) > MAX_CHANGED_SHOWN:
        lines.append(f"  … and {len(changed) - MAX_CHANGED_SHOWN} more")
    return "\n".join(lines) + "\n"
