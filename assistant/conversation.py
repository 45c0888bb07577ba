"""Conversation helpers: rule-based follow-up rewriting and clarifying questions between close candidates.

``rewrite`` carries the previous topic into a follow-up ("需要带什么材料？" after "港澳通行证怎么办理？"
→ "港澳通行证需要带什么材料？"; "那补领呢？" after "身份证首次申领需要什么材料" → "身份证补领需要什么材料").
``clarify`` asks which item the citizen means when the top guides are variants of one service
(省级/市级, 首次申领/补领, different regions) with close scores and the question names none of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.base import DocGroup, group_by_doc
from assistant.text import normalize
from assistant.types import Clarify, ClarifyOption, Hit, Turn

# Aspect phrases: what is asked about a topic (removed to find the topic, kept to re-ask it).
_ASPECT = re.compile(
    r"(?:请问|我想问一?下|想咨询一?下|咨询一?下)|"
    r"(?:的)?(?:需要|要|得)?(?:带|准备|提交|提供|交)?(?:哪些|什么|啥)(?:材料|资料|证件|东西|手续|条件)|"
    r"(?:应该|可以)?(?:在|去|到)?(?:哪里|哪儿|什么地方|哪个窗口|何处)(?:办理?|申请|去办|能办|可以办)?|"
    r"(?:要|需要)?(?:多久|多长时间|几天|多少天)(?:能|可以)?(?:办好|拿到|办结|下来)?|"
    r"(?:要|需要)?(?:多少钱|收费吗|收不收费|收费标准|费用是多少|要钱吗)|"
    r"(?:的)?(?:咨询)?电话(?:是多少)?|"
    r"(?:应该|要)?(?:怎么|如何|怎样)(?:办理?|申请|申领|操作|弄)?|(?:的)?(?:流程|步骤|程序)(?:是什么)?|"
    r"(?:可以|能)?网上(?:办理?|申请)吗?|"
    r"[吗呢吧啊呀]|[？?。！!，,、\s]"
)
_FOLLOW_UP_LEAD = re.compile(r"^(?:那么?|还有|另外|再问一下|如果是|要是|那如果|那要是)")
_PRONOUN = re.compile(r"这个|那个|该事项|这项|那项|它|上述|这种情况")
# Variant words of one service; "那补领呢" swaps one for another.
VARIANTS = (
    "首次申领",
    "首次申请",
    "申领",
    "补领",
    "换领",
    "补办",
    "换证",
    "换发",
    "补发",
    "新办",
    "首办",
    "变更",
    "注销",
    "延期",
    "续期",
    "续办",
    "迁入",
    "迁出",
    "转移",
    "提取",
    "办理",
    "申请",
)
_VARIANT = re.compile("|".join(sorted(map(re.escape, VARIANTS), key=len, reverse=True)))
LEVELS = ("省级", "市级", "区级", "县级", "省", "市", "区", "县")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _content(text: str) -> str:
    return _ASPECT.sub("", text)


def topic_of(question: str) -> str:
    """The subject of a question: the question without question words and aspect phrases."""
    return _content(normalize(question)).strip()


def aspect_of(question: str) -> str:
    """What a question asks about its subject: the question minus its topic (e.g. "需要什么材料")."""
    q = normalize(question).rstrip("？?。！! ")
    topic = topic_of(q)
    if topic and topic in q:
        return q.split(topic, 1)[1].strip("，, ")
    return q


def is_follow_up(question: str) -> bool:
    """A question that leans on the previous turn: no topic of its own, a lead like 那…呢, or a pronoun."""
    q = normalize(question)
    content = _content(q)
    if len(_CJK.findall(content)) < 2:
        return True
    return bool(_FOLLOW_UP_LEAD.search(q) or _PRONOUN.search(q)) and len(content) <= 8


def rewrite(question: str, history: Sequence[Turn]) -> str:
    """The question made self-contained using the previous user turns (unchanged when it already is)."""
    previous = [t.content for t in history if t.role == "user" and t.content.strip()]
    if not previous or not is_follow_up(question):
        return question
    # Earlier turns may themselves be follow-ups: resolve them in order.
    resolved = previous[0]
    for turn in previous[1:]:
        resolved = _merge(turn, resolved) if is_follow_up(turn) else turn
    return _merge(question, resolved)


def _merge(question: str, previous: str) -> str:
    q = normalize(question).rstrip("？?。！! ")
    prev_topic = topic_of(previous)
    if not prev_topic:
        return question
    q = _PRONOUN.sub("", q)
    q = _FOLLOW_UP_LEAD.sub("", q)
    q_core = topic_of(q)
    if q_core:  # "那补领呢" / "如果是港澳通行证呢": swap the variant or the subject
        new_variant = _VARIANT.search(q_core)
        if new_variant and _VARIANT.search(prev_topic):
            base = _VARIANT.sub("", prev_topic).strip()
            topic = base + q_core
        else:
            topic = q_core if len(q_core) >= 4 else prev_topic + q_core
        own = aspect_of(q).strip("吗呢吧啊呀")
        aspect = own if own and own != q else aspect_of(previous).strip("吗呢吧啊呀")
        return f"{topic}{aspect}？"
    return f"{prev_topic}{q}？"


# ----------------------------------------------------------------------------- clarifying


def _distinct_part(title: str, other: str) -> str:
    """What ``title`` has that ``other`` lacks: a variant/level word, else the text after the common prefix."""
    for m in _VARIANT.finditer(title):
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


def clarify(
    question: str, hits: Sequence[Hit], *, ratio: float = 0.9, max_options: int = 3
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
    q = normalize(question)
    if any(lbl and lbl in q for lbl in labels):
        return None
    aspect = aspect_of(question)
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
