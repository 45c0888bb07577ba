"""Clarifying questions: which item does the citizen mean, when the top guides are close variants of one.

Variants of one service (省级/市级, 首次申领/补领, different regions) often score within a few percent of
each other; quoting the first would answer a question the citizen may not have asked. Step 4 of the
decision order (``respond``) asks back instead, unless the question already names one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answering.citations import DocGroup, group_by_doc
from assistant.query import LEVELS, VARIANT, Query
from assistant.types import Clarify, ClarifyOption, Hit


def _distinct_part(title: str, other: str) -> str:
    """What ``title`` has that ``other`` lacks: a variant/level word, else the text after the common prefix."""
    for m in VARIANT.finditer(title):
        if m.group() not in other:
            return title[m.start() :] if len(title) - m.start() <= 8 else m.group()
    for level in LEVELS:
        if level in title and level not in other:
            return level
    i = 0
    while i < min(len(title), len(other)) and title[i] == other[i]:
        i += 1
    return title[i:].strip("（）()—-· ")


def _bigram_sim(a: str, b: str) -> float:
    ab = {a[i : i + 2] for i in range(len(a) - 1)}
    bb = {b[i : i + 2] for i in range(len(b) - 1)}
    return len(ab & bb) / max(1, len(ab | bb))


# a variant is offered only when it scores at least this share of the top guide. 0.9 asked back on
# 10 % of the colloquial dev questions, mostly to offer variants nobody asked about (补办 / 换领 when
# 新办 was meant); 0.97 halves that and lifts key_facts@200 0.478 → 0.522 (docs/answering.md)
CLOSE_RATIO = 0.97


def clarify(
    query: Query, hits: Sequence[Hit], *, ratio: float = CLOSE_RATIO, max_options: int = 3
) -> Clarify | None:
    """A clarifying question when the top guides are variants of one item with close scores, else None.

    Variants: titles that share most of their characters (bigram Jaccard ≥ 0.4) or the same title for
    different regions/levels. Only guides are clarified (policies and FAQs answer as they are).
    """
    groups = group_by_doc(hits)
    if len(groups) < 2 or groups[0].type != "guide":
        return None
    top = groups[0]
    top_title = top.top.chunk.title
    candidates = [top]
    for g in groups[1:]:
        if g.type != "guide" or g.score < ratio * top.score:
            continue
        title = g.top.chunk.title
        if title == top_title and _label(g) == _label(top):
            continue
        if title == top_title or _bigram_sim(title, top_title) >= 0.4:
            candidates.append(g)
        if len(candidates) >= max_options:
            break
    if len(candidates) < 2:
        return None
    labels = []
    for g in candidates:
        t = g.top.chunk.title
        others = [c.top.chunk.title for c in candidates if c is not g]
        part = _distinct_part(t, others[0]) if t != others[0] else ""
        labels.append(part or _label(g) or t)
    # The question already names one of the variants: no need to ask.
    if any(lbl and lbl.lower() in query.normalized for lbl in labels):
        return None
    aspect = query.aspect
    options = [
        ClarifyOption(
            label=f"{lbl}（{_label(g)}）" if _label(g) and _label(g) not in lbl else lbl,
            question=f"{g.top.chunk.title}{aspect}？" if aspect else g.top.chunk.title,
            doc_id=g.doc_id,
        )
        for lbl, g in zip(labels, candidates, strict=True)
    ]
    return Clarify(question="您想咨询的是以下哪一项？请选择：", options=options)


def _label(group: DocGroup) -> str:
    meta = group.top.chunk.metadata
    return str(meta.get("region", "") or meta.get("department", "") or "")
