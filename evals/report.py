"""Write an evaluation run to disk: report.json, per_question.jsonl, report.md and a self-contained report.html.

The HTML has no external assets: charts are inline SVG drawn here (metric bars, hit@k curve,
latency histogram), so the file opens offline and can be attached to a ticket as is.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .metrics import RETRIEVAL_KEYS

ANSWER_KEYS = (
    "char_f1",
    "rouge_l",
    "citation_recall",
    "primary_citation_accuracy",
    "citation_precision",
    "key_facts@200",
    "grounded_rate",
    "answered_rate",
)
HANDOFF_KEYS = ("handoff_recall", "false_handoff_rate")
INTENT_KEYS = ("accuracy",)
FOLLOWUP_KEYS = ("hit@1", "hit@5")


def write_run(out: Path, report: dict[str, Any], records: Sequence[dict[str, Any]]) -> None:
    """Write all four files of a run into ``out`` (created if needed)."""
    write_report_files(out, report, records, render_markdown(report))
    (out / "report.html").write_text(render_html(report, records), encoding="utf-8")


def write_report_files(
    out: Path, report: dict[str, Any], records: Sequence[dict[str, Any]], markdown: str
) -> None:
    """report.json, per_question.jsonl and report.md (``markdown``) in ``out``, created if needed."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    with (out / "per_question.jsonl").open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    (out / "report.md").write_text(markdown, encoding="utf-8")


def fmt(value: Any) -> str:
    """A metric for humans: 0.8721 → '0.872', None → '—'."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def metric_items(report: dict[str, Any]) -> list[tuple[str, str, float | None]]:
    """(group, name, value) for every headline metric the report has (skipped groups left out)."""
    items: list[tuple[str, str, float | None]] = []
    groups = (
        ("retrieval", RETRIEVAL_KEYS),
        ("answer", ANSWER_KEYS),
        ("handoff", HANDOFF_KEYS),
        ("intent", INTENT_KEYS),
        ("followup", FOLLOWUP_KEYS),
    )
    for group, keys in groups:
        section = report.get(group)
        if section is None or "skipped" in section:  # older reports have no intent/followup group
            continue
        if group == "answer" and "citation_recall" not in section:
            # reports before 2026-11 called the recall "citation_precision"; keep compare honest
            section = {
                **section,
                "citation_recall": section.get("citation_precision"),
                "citation_precision": None,
            }
        items.extend((group, k, section.get(k)) for k in keys)
    return items


def config_line(cfg: dict[str, Any]) -> str:
    """embedder, retriever, answerer and index size on one line (nested dicts as k=v lists)."""
    parts = []
    for key in ("embedder", "retriever", "answerer", "index_size"):
        if key not in cfg:
            continue
        value = cfg[key]
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, ""))
        parts.append(f"{key}: {value}")
    return " · ".join(parts)


def _clip(text: Any, n: int = 80) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _md_cell(text: Any, n: int = 80) -> str:
    return _clip(text, n).replace("|", "\\|")


def _breakdown_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    names = ("department", "dataset", "type", "intent", "aspect")
    return [k for k in rows[0] if k not in names] if rows else []


def render_markdown(report: dict[str, Any]) -> str:
    """A short Markdown summary: headline metrics, latency, breakdowns, worst rows, warnings."""
    cfg = report.get("config", {})
    lines = [
        f"# Evaluation report ({report['mode']} mode)",
        "",
        f"- started: {report['started_at']} · duration: {report['duration_s']} s · questions: {report['count']}",
        "- config: " + config_line(cfg),
        "",
        "## Metrics",
        "",
        "| group | metric | value |",
        "|---|---|---|",
    ]
    lines += [f"| {g} | {k} | {fmt(v)} |" for g, k, v in metric_items(report)]
    judge = report.get("llm_judge") or {}
    lines += [
        "",
        f"LLM judge: {judge['skipped'] if 'skipped' in judge else json.dumps(judge, ensure_ascii=False)}",
    ]
    lat = report.get("latency", {})
    lines += [
        "",
        "## Latency (ms)",
        "",
        "| stage | p50 | p95 |",
        "|---|---|---|",
        f"| end to end | {fmt(lat.get('p50_ms'))} | {fmt(lat.get('p95_ms'))} |",
    ]
    lines += [
        f"| {s} | {fmt(v['p50_ms'])} | {fmt(v['p95_ms'])} |" for s, v in (lat.get("stages") or {}).items()
    ]
    for field, rows in (
        ("department", report["breakdown"]["by_department"]),
        ("dataset", report["breakdown"]["by_dataset"]),
        ("intent", report["breakdown"].get("by_intent", [])),
        ("aspect", report["breakdown"].get("by_aspect", [])),
    ):
        if not rows:
            continue
        cols = _breakdown_columns(rows)
        lines += [
            "",
            f"## By {field}",
            "",
            "| " + " | ".join([field, *cols]) + " |",
            "|" + "---|" * (len(cols) + 1),
        ]
        lines += [
            "| " + " | ".join([_md_cell(r[field], 30), *(fmt(r[c]) for c in cols)]) + " |" for r in rows
        ]
    lines += [
        "",
        f"## {len(report['worst'])} worst rows",
        "",
        "| id | question | expected | got | gold rank | retrieved |",
        "|---|---|---|---|---|---|",
    ]
    for w in report["worst"]:
        expected = w["expected"] or ("(hand-off expected)" if w["should_handoff"] else "")
        got = w.get("error") or w.get("got") or ""
        lines.append(
            f"| {_md_cell(w['id'], 30)} | {_md_cell(w['question'], 50)} | {_md_cell(expected, 50)} | "
            f"{_md_cell(got, 50)} | {fmt(w['gold_rank'])} | {_md_cell(', '.join(w['retrieved']), 60)} |"
        )
    if report.get("warnings"):
        lines += ["", "## Warnings", ""] + [f"- {_md_cell(w, 300)}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


# --- SVG charts ------------------------------------------------------------------------------------

_E = html.escape


def svg_bars(items: Sequence[tuple[str, float | None]], width: int = 560) -> str:
    """Horizontal bars for metrics in 0..1, labelled with their values."""
    row_h, label_w = 24, 170
    bar_w = width - label_w - 60
    height = row_h * len(items) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="metric bars">'
    ]
    for i, (name, value) in enumerate(items):
        y = 5 + i * row_h
        v = 0.0 if value is None else max(0.0, min(1.0, float(value)))
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="13">{_E(name)}</text>'
        )
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="16" fill="#eef1f5"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * v:.1f}" height="16" fill="#3b6fb6"/>')
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 16}" font-size="13">{fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_curve(values: Sequence[float], width: int = 420, height: int = 240) -> str:
    """A hit@k line chart for k = 1..len(values), y axis 0..1."""
    if not values:
        return "<p>No rows with gold documents.</p>"
    left, bottom, top, right = 40, 30, 10, 10
    w, h = width - left - right, height - top - bottom
    n = len(values)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (w * i / (n - 1) if n > 1 else w / 2)
        return x, top + h * (1 - v)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="hit at k curve">'
    ]
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top + h * (1 - t)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{t:.2f}</text>')
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#3b6fb6" stroke-width="2"/>')
    for i, v in enumerate(values):
        x, y = xy(i, v)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#3b6fb6"><title>hit@{i + 1} = '
            f"{v:.3f}</title></circle>"
        )
        parts.append(
            f'<text x="{x:.1f}" y="{top + h + 16}" text-anchor="middle" font-size="11">{i + 1}</text>'
        )
    parts.append(
        f'<text x="{left + w / 2}" y="{height - 2}" text-anchor="middle" font-size="11">k</text></svg>'
    )
    return "".join(parts)


def histogram(values: Sequence[float], bins: int = 20) -> list[tuple[float, float, int]]:
    """(low, high, count) bins from 0 to the largest value (the last bin includes its upper edge)."""
    if not values:
        return []
    # Clip the range at the 99th percentile so one slow outlier does not squash every other bar;
    # values above it land in the last bin.
    ordered = sorted(values)
    top = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] or ordered[-1]
    if top <= 0:
        return [(0.0, 0.0, len(values))]
    step = top / bins
    counts = [0] * bins
    for v in values:
        counts[min(int(v / step), bins - 1)] += 1
    return [(i * step, (i + 1) * step, c) for i, c in enumerate(counts)]


def svg_histogram(values: Sequence[float], width: int = 560, height: int = 220) -> str:
    """A latency histogram (milliseconds)."""
    hist = histogram(values)
    if not hist:
        return "<p>No latencies.</p>"
    left, bottom, top = 40, 30, 10
    w, h = width - left - 10, height - top - bottom
    peak = max(c for _, _, c in hist) or 1
    bw = w / len(hist)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="latency histogram">'
    ]
    for i, (lo, hi, c) in enumerate(hist):
        bh = h * c / peak
        parts.append(
            f'<rect x="{left + i * bw:.1f}" y="{top + h - bh:.1f}" width="{max(bw - 1, 1):.1f}" '
            f'height="{bh:.1f}" fill="#6a9f58"><title>{lo:.0f}–{hi:.0f} ms: {c}</title></rect>'
        )
    parts.append(f'<text x="{left - 5}" y="{top + 10}" text-anchor="end" font-size="11">{peak}</text>')
    parts.append(f'<text x="{left}" y="{top + h + 16}" font-size="11">0</text>')
    parts.append(
        f'<text x="{left + w}" y="{top + h + 16}" text-anchor="end" font-size="11">'
        f"{hist[-1][1]:.0f} ms (p99; slower ones in the last bar)</text></svg>"
    )
    return "".join(parts)


def _table(rows: Sequence[dict[str, Any]], cols: Sequence[str], clip: int = 60) -> str:
    head = "".join(f"<th>{_E(c)}</th>" for c in cols)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{_E(_clip(fmt(r.get(c)) if not isinstance(r.get(c), str) else r.get(c), clip))}</td>"
            for c in cols
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f5f8}.grid{display:flex;flex-wrap:wrap;gap:28px}.muted{color:#666;font-size:13px}
"""


def render_html(report: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    """A single self-contained HTML page (inline CSS and SVG, no scripts or external links)."""
    cfg = report.get("config", {})
    items = [(f"{k}", v) for _, k, v in metric_items(report)]
    lat = report.get("latency", {})
    stages = [{"stage": "end to end", "p50_ms": lat.get("p50_ms"), "p95_ms": lat.get("p95_ms")}]
    stages += [{"stage": s, **v} for s, v in (lat.get("stages") or {}).items()]
    judge = report.get("llm_judge") or {}
    by_dept = report["breakdown"]["by_department"]
    by_ds = report["breakdown"]["by_dataset"]
    by_intent = report["breakdown"].get("by_intent", [])
    by_aspect = report["breakdown"].get("by_aspect", [])
    worst = [
        {
            **w,
            "expected": w["expected"] or ("(hand-off expected)" if w["should_handoff"] else ""),
            "got": w.get("error") or w.get("got") or "",
            "retrieved": ", ".join(w["retrieved"]),
            "gold": ", ".join(w["gold"]),
        }
        for w in report["worst"]
    ]
    latencies = [float(r["latency_ms"]) for r in records if isinstance(r.get("latency_ms"), int | float)]
    parts = [
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>Evaluation report · {_E(report['mode'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evaluation report — {_E(report['mode'])} mode</h1>",
        f'<p class="muted">started {_E(report["started_at"])} · {report["duration_s"]} s · '
        f"{report['count']} questions · {_E(config_line(cfg))}</p>",
        '<h2>Metrics</h2><div class="grid"><div>',
        svg_bars(items),
        "</div><div>",
        '<div class="muted">hit@k (document level)</div>',
        svg_curve(report["retrieval_details"]["hit_curve"]),
        "</div></div>",
        f'<p class="muted">LLM judge: {_E(judge.get("skipped") or json.dumps(judge, ensure_ascii=False))}</p>',
        '<h2>Latency</h2><div class="grid"><div>',
        svg_histogram(latencies),
        "</div><div>",
        _table(stages, ["stage", "p50_ms", "p95_ms"]),
        "</div></div>",
        "<h2>By department</h2>",
        _table(by_dept, ["department", *_breakdown_columns(by_dept)], 40),
        "<h2>By dataset</h2>",
        _table(by_ds, ["dataset", *_breakdown_columns(by_ds)], 40),
        *(
            ["<h2>By intent</h2>", _table(by_intent, ["intent", *_breakdown_columns(by_intent)], 40)]
            if by_intent
            else []
        ),
        *(
            ["<h2>By aspect asked</h2>", _table(by_aspect, ["aspect", *_breakdown_columns(by_aspect)], 40)]
            if by_aspect
            else []
        ),
        f"<h2>{len(worst)} worst rows</h2>",
        _table(
            worst,
            [
                "id",
                "department",
                "question",
                "expected",
                *(["got"] if report["mode"] == "answer" else []),
                "gold",
                "gold_rank",
                "retrieved",
                "score",
            ],
            120,
        ),
    ]
    if report.get("warnings"):
        parts.append(
            "<h2>Warnings</h2><ul>" + "".join(f"<li>{_E(w)}</li>" for w in report["warnings"]) + "</ul>"
        )
    parts.append("</body></html>\n")
    return "".join(parts)


def finite(value: Any) -> bool:
    """True for a real, finite number (bools excluded)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
