"""The answering policy every channel shares: hand off, refuse, clarify, or answer — in that order."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answering.base import Answerer, current_hits, today_iso
from assistant.answering.handoff import build_handoff, classify_message, confidence, should_refuse
from assistant.config import Settings
from assistant.conversation import clarify
from assistant.regions import uncovered_place
from assistant.text import tokenize
from assistant.types import Answer, Clarify, Hit


def on_topic(question: str, hits: Sequence[Hit]) -> list[Hit]:
    """Hits whose title shares a word with the message: only their department's phone is worth offering.

    A complaint about restaurant noise retrieves *something*; without this check the hand-off would
    name whichever department that something belongs to.
    """
    words = {t for t in tokenize(question, ngrams=False) if len(t) >= 2}
    return [h for h in hits if words & set(tokenize(h.chunk.title, ngrams=False))]


def clarify_text(c: Clarify) -> str:
    lines = [c.question] + [f"{i}. {o.label}" for i, o in enumerate(c.options, 1)]
    return "\n".join(lines)


def respond(
    question: str,
    hits: Sequence[Hit],
    *,
    answerer: Answerer,
    settings: Settings,
    rewritten: str = "",
    channel: str = "api",
    relevance_floor: float | None = None,
) -> Answer:
    """The reply to ``question`` given the hits retrieved for ``rewritten`` (the self-contained question).

    1. a request for a human, an individual case or a complaint → hand-off (with the department's phone
       when the hits know it); 2. no current hits, a best dense score below the relevance floor (the
       embedder's calibrated ``relevance_floor`` unless ``answer.relevance_floor`` is set), or confidence
       below ``answer.min_confidence`` →
       honest refusal + hand-off; 3. the question names a place none of the top hits applies to (上海's
       rules asked, only Guangzhou's found) → hand-off to that place's hotline; 4. close variants of one
       guide → clarifying question; 5. the answerer.
    """
    q = rewritten or question
    valid = current_hits(hits, today_iso(settings.today))
    conf = confidence(valid, q)
    base = {"question": question, "rewritten_question": q, "confidence": conf, "hits": list(valid)}
    decision = classify_message(question)
    if decision is not None:
        handoff = build_handoff(decision.reason, on_topic(question, valid), settings)
        return Answer(text=handoff.message, answered_by="handoff", handoff=handoff, **base)  # type: ignore[arg-type]
    if should_refuse(valid, settings, q, relevance_floor):
        handoff = build_handoff("low_confidence" if valid else "no_knowledge", valid, settings)
        return Answer(text=handoff.message, answered_by="handoff", handoff=handoff, **base)  # type: ignore[arg-type]
    place = uncovered_place(q, valid)
    if place is not None:
        handoff = build_handoff("other_region", valid, settings, place=place.name)
        return Answer(text=handoff.message, answered_by="handoff", handoff=handoff, **base)  # type: ignore[arg-type]
    c = clarify(q, valid)
    if c is not None:
        return Answer(text=clarify_text(c), answered_by="clarify", clarify=c, **base)  # type: ignore[arg-type]
    ans = answerer.answer(q, valid, channel=channel)
    ans.question, ans.rewritten_question, ans.confidence = question, q, conf
    return ans
