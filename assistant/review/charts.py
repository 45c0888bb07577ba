"""Server-rendered SVG charts for the insights page: accessible (``role="img"``, ``<title>``/``<desc>``,
every bar labelled with its value in text), no script, no external font or library.

Text is XML-escaped; the console parses these with ``DOMParser`` and inserts the nodes (no innerHTML).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

BAR_H = 22
GAP = 6
LABEL_W = 220
BAR_W = 300
VALUE_W = 90
COLOURS = ("#1f5fa8", "#b3261e", "#2e7d32", "#8a5a00", "#6a1b9a", "#00695c", "#5d4037", "#455a64")


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _clip(text: str, n: int = 16) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def bar_chart(
    chart_id: str, title: str, items: Sequence[tuple[str, float]], *, unit: str = "", percent: bool = False
) -> str:
    """Horizontal bars, longest first as given; ``percent``: values are 0..1 shares shown as %."""
    n = max(1, len(items))
    height = 34 + n * (BAR_H + GAP)
    width = LABEL_W + BAR_W + VALUE_W
    top = max((v for _, v in items), default=0.0) or 1.0
    scale = 1.0 if percent else top
    desc = "；".join(f"{label}：{_fmt(v, unit, percent)}" for label, v in items) or "没有数据"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-t {chart_id}-d"'
        f' viewBox="0 0 {width} {height}" width="{width}" class="chart">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    if not items:
        parts.append('<text x="0" y="48" font-size="14" fill="#444">没有数据</text>')
    for i, (label, value) in enumerate(items):
        y = 30 + i * (BAR_H + GAP)
        w = 0 if scale <= 0 else max(2.0, BAR_W * min(1.0, value / scale)) if value > 0 else 0
        colour = COLOURS[i % len(COLOURS)]
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + 16}" font-size="14" text-anchor="end" fill="#1a1a1a">'
            f"<title>{escape(label)}</title>{escape(_clip(label))}</text>"
        )
        parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{colour}" rx="2"/>')
        parts.append(
            f'<text x="{LABEL_W + w + 6:.1f}" y="{y + 16}" font-size="14" fill="#1a1a1a">'
            f"{escape(_fmt(value, unit, percent))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(chart_id: str, title: str, items: Sequence[tuple[str, float]], *, unit: str = "") -> str:
    """Vertical columns over time (``items``: (day label, count)), labels under every column."""
    n = max(1, len(items))
    col = max(14, min(40, 600 // n))
    width, plot_h = 40 + n * col, 140
    height = plot_h + 70
    top = max((v for _, v in items), default=0.0) or 1.0
    desc = "；".join(f"{label}：{_fmt(v, unit, False)}" for label, v in items) or "没有数据"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-t {chart_id}-d"'
        f' viewBox="0 0 {width} {height}" width="{width}" class="chart">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    for i, (label, value) in enumerate(items):
        h = plot_h * value / top
        x = 30 + i * col
        y = 30 + plot_h - h
        parts.append(f'<rect x="{x}" y="{y:.1f}" width="{col - 4}" height="{h:.1f}" fill="{COLOURS[0]}"/>')
        parts.append(
            f'<text x="{x + (col - 4) / 2:.1f}" y="{y - 3:.1f}" font-size="11" text-anchor="middle" fill="#1a1a1a">'
            f"{escape(_fmt(value, unit, False))}</text>"
        )
        parts.append(
            f'<text x="{x + (col - 4) / 2:.1f}" y="{30 + plot_h + 14}" font-size="11" text-anchor="middle"'
            f' fill="#1a1a1a">{escape(label[-5:])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: float, unit: str, percent: bool) -> str:
    if percent:
        return f"{value * 100:.1f}%"
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
    return text + unit
