"""Conversation: rule-based rewriting of a follow-up into a self-contained question.

``rewrite`` carries the previous topic into a follow-up ("需要带什么材料？" after "港澳通行证怎么办理？"
→ "港澳通行证需要带什么材料？"; "那补领呢？" after "身份证首次申领需要什么材料" → "身份证补领需要什么材料").
The clarifying question between close variants of one service sits with the decision order
(``answering/clarify.py``); both use ``query.topic_of`` / ``aspect_of``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.query import VARIANT, aspect_of, topic_of, without_aspect
from assistant.text import normalize
from assistant.types import Turn

_FOLLOW_UP_LEAD = re.compile(r"^(?:那么?|还有|另外|再问一下|如果是|要是|那如果|那要是)")
_PRONOUN = re.compile(r"这个|那个|该事项|这项|那项|它|上述|这种情况")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def is_follow_up(question: str) -> bool:
    """A question that leans on the previous turn: no topic of its own, a lead like 那…呢, or a pronoun."""
    q = normalize(question)
    content = without_aspect(q)
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
        new_variant = VARIANT.search(q_core)
        if new_variant and VARIANT.search(prev_topic):
            base = VARIANT.sub("", prev_topic).strip()
            topic = base + q_core
        else:
            topic = q_core if len(q_core) >= 4 else prev_topic + q_core
        own = aspect_of(q).strip("吗呢吧啊呀")
        aspect = own if own and own != q else aspect_of(previous).strip("吗呢吧啊呀")
        return f"{topic}{aspect}？"
    return f"{prev_topic}{q}？"
