"""The decision order every channel shares: hand off, refuse, clarify, or answer — in that order.

It also holds the policy that order applies: lexical confidence, when to refuse (relevance floor,
minimum confidence), and which hits are on the message's topic (whose department a hand-off may name).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.base import Answerer
from assistant.answering.clarify import clarify
from assistant.answering.classify import classify_message
from assistant.answering.grounding import bigrams
from assistant.answering.handoff import build_handoff
from assistant.config import Settings
from assistant.presentation import clarify_text
from assistant.query import Query
from assistant.regions import uncovered_place
from assistant.text import tokenize
from assistant.types import Answer, Handoff, Hit
from assistant.validity import current_hits, today_iso

_FILLER = re.compile(
    r"请问|您好|你好|谢谢|如何|怎样|怎么办|怎么|什么|哪些|哪里|哪个|是否|能否|可以|需要|应该|多少|吗|呢|吧|一下|我想|我要|我的|我们|办理|咨询|问题"
)


def confidence(hits: Sequence[Hit], query: Query) -> float:
    """How sure the answer can be, 0..1: lexical coverage — the share of the question's content bigrams
    (question words left out) found in the best of the top three hits' title + text. It does not depend
    on the retriever's score scale."""
    if not hits:
        return 0.0
    qb = bigrams(_FILLER.sub(" ", query.normalized))
    if not qb:
        return 1.0
    best = 0.0
    for h in hits[:3]:
        hb = bigrams(h.chunk.title + h.chunk.text)
        best = max(best, len(qb & hb) / len(qb))
    return round(best, 3)


def should_refuse(
    hits: Sequence[Hit], settings: Settings, confidence: float = 1.0, relevance_floor: float | None = None
) -> bool:
    """True when no hit is left; when the best dense score is below the relevance floor
    (``settings.answer.relevance_floor``, else the embedder's calibrated ``relevance_floor``); or when
    ``confidence`` is below ``settings.answer.min_confidence`` (default 0: off).
    See docs/answering.md for how both are calibrated."""
    if not hits:
        return True
    floor = (
        settings.answer.relevance_floor if settings.answer.relevance_floor is not None else relevance_floor
    )
    best = max((h.dense_score for h in hits if h.dense_score is not None), default=None)
    if floor and best is not None and best < floor:
        return True
    return confidence < settings.answer.min_confidence


def on_topic(query: Query, hits: Sequence[Hit]) -> list[Hit]:
    """Hits whose title shares a word with the message: only their department's phone is worth offering.

    A complaint about restaurant noise retrieves *something*; without this check the hand-off would
    name whichever department that something belongs to.
    """
    return [h for h in hits if query.words & set(tokenize(h.chunk.title, ngrams=False))]


# The intent model's hand-off labels → the hand-off builder's reasons.
MODEL_HANDOFF = {"case": "individual_case", "complaint": "complaint", "human": "human_requested"}
SCOPE_TEXT = (
    "我是政务服务智能助手，可以解答办事指南、政策法规方面的问题（如办理材料、地点、时限、社保、户籍等）。"
    "您的问题不在我的服务范围内，换个政务问题试试吧；其他诉求可拨打{hotline}政务服务便民热线。"
)
GREETING_TEXT = "您好！我是政务服务智能助手，请直接告诉我您想办理或咨询的事项，例如“居住证怎么办理”。"
THANKS_TEXT = "不客气，很高兴能帮到您！还有其他问题可以随时问我。"


def model_decision(query: Query, settings: Settings) -> str | None:
    """What the intent model adds to the rules: a hand-off reason, ``"scope"``, ``"greeting"``, or None.

    Only when the model is confident: its label has probability ≥ ``answer.intent_threshold`` and
    ``question`` less than ``answer.intent_question_guard`` (a message that may well be a question is
    answered). ``other_region`` adds nothing: the place check (``regions.uncovered_place``) decides.
    """
    p = query.intent
    a = settings.answer
    if p is None or p.label == "question" or p.confidence < a.intent_threshold:
        return None
    if p.probs.get("question", 0.0) >= a.intent_question_guard:
        return None
    if p.label in MODEL_HANDOFF:
        return MODEL_HANDOFF[p.label]
    if p.label == "chitchat":
        return "scope"
    if p.label == "greeting":
        return "greeting"
    return None


def respond(
    query: Query,
    hits: Sequence[Hit],
    *,
    answerer: Answerer,
    settings: Settings,
    relevance_floor: float | None = None,
    curated: Answer | None = None,
) -> Answer:
    """The reply to ``query`` given the hits retrieved for ``query.text`` (the self-contained question).

    0. hits whose documents are not in force are dropped (``validity``: the last guard) unless the
       question asks for history; 1. a request for a human, an individual case or a complaint →
       hand-off (with the department's phone when the hits know it), by the rule classifier
       (``classify``) or, when confident, the intent model (``query.intent``, ``model_decision``); an
       off-topic message or a greeting (the model, confident) → a short scope statement or greeting,
       no quote; 1b. a curated answer the message matched (``curated``, built by ``assistant.curated``
       from an operator's entry) → that answer; 2. no hits left, a best dense score
       below the relevance floor (the embedder's calibrated ``relevance_floor`` unless
       ``answer.relevance_floor`` is set), or confidence below ``answer.min_confidence`` → honest
       refusal + hand-off; 3. the question names a place none of the top hits applies to (上海's rules
       asked, only Guangzhou's found) → hand-off to that place's hotline; 4. close variants of one
       guide → clarifying question; 5. the answerer.
    """
    include_old = query.asks_history or settings.retrieval.include_expired
    valid = current_hits(hits, today_iso(settings.today), include_old=include_old)
    conf = confidence(valid, query)

    def handed_off(handoff: Handoff) -> Answer:
        return _shaped(
            Answer(text=handoff.message, answered_by="handoff", handoff=handoff), query, conf, valid
        )

    decision = classify_message(query)
    if decision is not None:
        return handed_off(build_handoff(decision.reason, on_topic(query, valid), settings))
    model = model_decision(query, settings)
    if model in ("scope", "greeting"):
        return _shaped(
            Answer(text=_reply_text(model, query, settings), answered_by=model), query, conf, valid
        )
    if model is not None:
        return handed_off(build_handoff(model, on_topic(query, valid), settings))
    if curated is not None:
        curated.question, curated.rewritten_question, curated.hits = query.raw, query.text, valid
        return curated
    if should_refuse(valid, settings, conf, relevance_floor):
        return handed_off(build_handoff("low_confidence" if valid else "no_knowledge", valid, settings))
    place = uncovered_place(query.places, valid)
    if place is not None:
        return handed_off(build_handoff("other_region", valid, settings, place=place.name))
    c = clarify(query, valid)
    if c is not None:
        return _shaped(Answer(text=clarify_text(c), answered_by="clarify", clarify=c), query, conf, valid)
    ans = answerer.answer(query.text, valid)
    ans.question, ans.rewritten_question, ans.confidence = query.raw, query.text, conf
    return ans


def _reply_text(kind: str, query: Query, settings: Settings) -> str:
    if kind == "scope":
        return SCOPE_TEXT.format(hotline=settings.answer.hotline)
    return THANKS_TEXT if re.search(r"谢|感谢|辛苦", query.raw) else GREETING_TEXT


def _shaped(ans: Answer, query: Query, conf: float, hits: list[Hit]) -> Answer:
    ans.question, ans.rewritten_question, ans.confidence, ans.hits = query.raw, query.text, conf, hits
    return ans
