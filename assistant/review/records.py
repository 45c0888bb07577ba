"""One stored exchange as the console shows and exports it: flat fields, PII masked, latest verdict."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..safety import mask_pii
from ..sessions import Exchange

VERDICTS = ("correct", "wrong", "needs_curated")
VERDICT_NAMES = {"correct": "正确", "wrong": "错误", "needs_curated": "需人工答案"}


@dataclass(frozen=True)
class Verdict:
    """A reviewer's latest verdict on an exchange."""

    verdict: str
    note: str
    reviewer: str
    at: float


def iso(ts: float | None) -> str:
    """Seconds since the epoch as an ISO 8601 UTC time ("" for none)."""
    if not ts:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def exchange_record(ex: Exchange, review: Verdict | None = None) -> dict[str, Any]:
    """The console's view of ``ex``: texts masked (again: stored texts were masked on the way in, but a
    rule added since may catch more), hits with their scores, feedback and the latest verdict."""
    feedback = ex.feedback or {}
    return {
        "request_id": ex.request_id,
        "session": ex.session_id[:12],  # the stored id is already a hash of the citizen's token
        "at": iso(ex.created_at),
        "created_at": ex.created_at,
        "channel": ex.channel,
        "question": mask_pii(ex.question),
        "answer": mask_pii(ex.answer),
        "answered_by": ex.answered_by,
        "handoff": ex.handoff,
        "confidence": ex.confidence,
        "department": ex.department,
        "citations": ex.citations,
        "hits": list(ex.hits),
        "rating": feedback.get("rating", ""),
        "feedback_comment": mask_pii(feedback.get("comment", "") or ""),
        "review": None
        if review is None
        else {
            "verdict": review.verdict,
            "note": mask_pii(review.note),
            "reviewer": review.reviewer,
            "at": iso(review.at),
        },
    }
