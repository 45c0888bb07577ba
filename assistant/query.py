"""The message parsed once at the pipeline's entrance: a ``Query`` every later stage reads.

``Query.parse`` takes the citizen's message and the self-contained question it stands for (the
conversation rewriter's output; the message itself when it is not a follow-up) and computes what the
stages ask of it: normalised text (NFKC, 繁→简, lower-case Latin), content words, the places it names,
the aspect it asks about (材料 / 地点 / 时限 …), whether it asks for history. ``intent`` is the
intent model's prediction for ``text``, set by the pipeline after retrieval (``with_intent``; None
when ``answer.intent`` is ``none``).

Topic / aspect splitting lives here too because both the rewriter and the clarifying question use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .regions import Place, asked_places
from .text import normalize, normalize_query, tokenize
from .validity import asks_for_history

if TYPE_CHECKING:
    from .intent import IntentPrediction

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
VARIANT = re.compile("|".join(sorted(map(re.escape, VARIANTS), key=len, reverse=True)))
LEVELS = ("省级", "市级", "区级", "县级", "省", "市", "区", "县")


def without_aspect(text: str) -> str:
    """``text`` with its question words and aspect phrases removed."""
    return _ASPECT.sub("", text)


def topic_of(question: str) -> str:
    """The subject of a question: the question without question words and aspect phrases."""
    return without_aspect(normalize(question)).strip()


def aspect_of(question: str) -> str:
    """What a question asks about its subject: the question minus its topic (e.g. "需要什么材料")."""
    q = normalize(question).rstrip("？?。！! ")
    topic = topic_of(q)
    if topic and topic in q:
        return q.split(topic, 1)[1].strip("，, ")
    return q


@dataclass(frozen=True)
class Query:
    """One message, parsed once. ``raw`` is what the citizen wrote; ``text`` the self-contained question."""

    raw: str
    text: str
    raw_normalized: str  # normalize_query(raw): what the message classifier reads
    normalized: str  # normalize_query(text): what retrieval and confidence read
    words: frozenset[str]  # jieba words (≥ 2 characters, no stop words) of ``raw``
    places: tuple[Place, ...]  # places ``text`` asks about, longest first (``regions.asked_places``)
    aspect: str  # what ``text`` asks about its subject ("" when it asks about nothing in particular)
    asks_history: bool
    intent: IntentPrediction | None = None  # label + calibrated probabilities of ``text``; None: no model

    @classmethod
    def parse(cls, raw: str, text: str = "") -> Query:
        """Parse ``raw`` (and ``text``, the rewritten question; ``raw`` when empty)."""
        text = text or raw
        raw_normalized = normalize_query(raw)
        normalized = raw_normalized if text == raw else normalize_query(text)
        return cls(
            raw=raw,
            text=text,
            raw_normalized=raw_normalized,
            normalized=normalized,
            words=frozenset(t for t in tokenize(raw, ngrams=False) if len(t) >= 2),
            places=tuple(asked_places(text)),
            aspect=aspect_of(text),
            asks_history=asks_for_history(normalized),
        )

    def with_intent(self, intent: IntentPrediction | None) -> Query:
        """This query with the intent model's prediction attached."""
        return replace(self, intent=intent)
