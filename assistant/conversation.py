"""Conversation: a follow-up made self-contained, and the documents its topic came from.

``rewrite`` carries the previous topic into a follow-up ("需要带什么材料？" after "港澳通行证怎么办理？"
→ "港澳通行证需要带什么材料？"; "那补领呢？" after "身份证首次申领需要什么材料" → "身份证补领需要什么材料";
"交上去以后多久能拿到？" → "港澳通行证交上去以后多久能拿到？"). ``is_follow_up`` recognises the obvious
follow-ups from their wording alone (no topic left once the aspect is removed, a lead such as 那…呢, a
pronoun); ``names_own_topic`` decides the rest once the message has been searched by itself: a
message none of whose own words is in the titles of what it finds leans on the earlier turn.
``topic_documents`` are the documents the earlier answer cited (``Turn.doc_ids``, from the session
store): the pipeline searches a follow-up preferring them (``Filters.prefer_docs``), then wider.
The clarifying question between close variants of one service sits with the decision order
(``answering/clarify.py``); both use ``query.topic_of`` / ``aspect_of``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from assistant.query import VARIANT, aspect_of, topic_of, without_aspect
from assistant.synonyms import curated
from assistant.text import normalize, tokenize
from assistant.types import Turn

_FOLLOW_UP_LEAD = re.compile(r"^(?:那么?|还有|另外|再问一下|如果是|要是|那如果|那要是|换成)")
_SWAP_LEAD = re.compile(r"^(?:如果是|那如果是|要是|那要是|换成)")  # "如果是港澳通行证呢": another subject
_PRONOUN = re.compile(r"这个|那个|该事项|这项|那项|它|上述|这种情况")
_ENDS_WITH_NE = re.compile(r"呢[？?。！!\s]*$")
_PUNCT = re.compile(r"[？?。！!，,、\s]|呢(?=[？?，,])")
_ASKS = re.compile(
    r"[？?]|吗|呢|多久|多长|多少|几|哪|什么|啥|怎么|怎样|如何|能不能|能否|可不可以|要不要|是不是|是否|有没有|咋"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
# words a message may use without naming a topic of its own (who asks, where, when, what for)
_GENERIC = frozenset(
    [
        "申请",
        "办理",
        "问题",
        "政府",
        "公司",
        "单位",
        "自己",
        "的话",
        "以后",
        "之后",
        "以前",
        "多少",
        "什么",
        "时候",
        "需要",
        "可以",
        "能够",
        "哪里",
        "哪个",
        "怎么",
        "这个",
        "那个",
        "材料",
        "条件",
        "电话",
        "时间",
        "地方",
        "现在",
        "一下",
        "没有",
        "我们",
        "他们",
        "东西",
        "手续",
        "流程",
        "费用",
        "多久",
        "几天",
        "几年",
        "办事",
        "窗口",
        "网上",
    ]
)


def is_follow_up(question: str) -> bool:
    """A question that plainly leans on the previous turn: no topic of its own, or a lead like 那…呢 /
    a pronoun / a closing 呢 with little else."""
    q = normalize(question)
    content = without_aspect(q)
    if len(_CJK.findall(content)) < 2:
        return True
    leans = bool(_FOLLOW_UP_LEAD.search(q) or _PRONOUN.search(q) or _ENDS_WITH_NE.search(q))
    return leans and len(content) <= 8


def asks_something(question: str) -> bool:
    """Whether ``question`` asks anything (a question mark or word: 多久 / 几 / 哪 / 什么 / 吗 …); a message
    that does not ("谢谢", "我要投诉") is never merged into the previous topic."""
    return bool(_ASKS.search(normalize(question)))


def names_own_topic(question: str, titles: Iterable[str]) -> bool:
    """Whether ``question`` names its subject: one of its own words (≥ 2 characters, not a generic word
    such as 申请 / 单位 / 多少), or that word's official term (``synonyms``), is in one of ``titles`` —
    the titles of what the question retrieves by itself."""
    words = [w for w in tokenize(topic_of(question), ngrams=False) if len(w) >= 2 and w not in _GENERIC]
    if not words:
        return False
    text = "\n".join(titles)
    table = curated()
    return any(w in text or any(o in text for o in table.get(w, ())) for w in words)


def previous_question(history: Sequence[Turn]) -> str:
    """The last user turn of ``history`` made self-contained ("" when there is none)."""
    previous = [t.content for t in history if t.role == "user" and t.content.strip()]
    if not previous:
        return ""
    resolved = previous[0]
    for turn in previous[1:]:
        resolved = _merge(turn, resolved) if is_follow_up(turn) else turn
    return resolved


def topic_documents(history: Sequence[Turn], limit: int = 3) -> tuple[str, ...]:
    """The documents the last answer in ``history`` cited, [1] first (empty when the history does not say)."""
    for turn in reversed(history):
        if turn.role == "assistant":
            return tuple(dict.fromkeys(turn.doc_ids))[:limit]
    return ()


def rewrite(question: str, history: Sequence[Turn], follow_up: bool | None = None) -> str:
    """The question made self-contained using the previous user turns (unchanged when it already is).

    ``follow_up``: the caller's decision (e.g. after ``names_own_topic``); None: ``is_follow_up``.
    """
    previous = previous_question(history)
    if not previous:
        return question
    if follow_up is None:
        follow_up = is_follow_up(question)
    return _merge(question, previous) if follow_up else question


def _merge(question: str, previous: str) -> str:
    q = normalize(question).rstrip("？?。！! ")
    prev_topic = topic_of(previous)
    if not prev_topic:
        return question
    swap = bool(_SWAP_LEAD.search(q))
    q = _PRONOUN.sub("", q)
    q = _FOLLOW_UP_LEAD.sub("", q)
    q_core = topic_of(q)
    if not q_core:  # "需要带什么材料" / "在哪办": the previous topic plus the message
        return f"{prev_topic}{q}？"
    own = aspect_of(q).strip("吗呢吧啊呀")
    own = "" if own == q else own
    aspect = own or _aspect(previous)
    if VARIANT.search(q_core) and VARIANT.search(prev_topic):  # "那补领呢": swap the variant
        return f"{VARIANT.sub('', prev_topic).strip()}{q_core}{aspect}？"
    if swap and len(q_core) >= 4:  # "如果是港澳通行证呢": swap the subject
        return f"{q_core}{aspect}？"
    # "那小孩呢" / "交上去以后多久能拿到": narrow the previous topic, in the message's own words; a bare
    # "那X呢" asks the previous question's aspect again
    bare = bool(_ENDS_WITH_NE.search(q)) and not own
    rest = _PUNCT.sub("", _ENDS_WITH_NE.sub("", q))
    return f"{prev_topic}{rest}{_aspect(previous) if bare else ''}？"


def _aspect(question: str) -> str:
    """The aspect a question asks about ("" when none is recognised)."""
    q = normalize(question).rstrip("？?。！! ")
    aspect = aspect_of(q).strip("吗呢吧啊呀")
    return "" if aspect == q or len(aspect) > 12 else aspect
