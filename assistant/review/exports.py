"""Exports: exchange records as CSV / JSONL, and reviewed exchanges as an evaluation dataset.

The evaluation dataset is what ``python -m evals run --dataset FILE --mode answer`` reads
(``evals/dataset.py``): one row per reviewed exchange —

- verdict ``correct``: the stored answer is the reference; the documents it cited are the gold
  passages; a correct hand-off becomes ``should_handoff: true``;
- verdict ``wrong`` (or ``needs_curated``) with a curated fix — an entry one of whose question variants
  is the exchange's question — the fix's answer is the reference and its sources the gold passages;
  without a fix the row is left out (nothing says what right would be) and counted as skipped.

So operators' corrections become regression tests: retrieval must keep finding the documents they
approved.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..curated import CuratedEntry
from ..text import normalize_query, strip_punct

CSV_COLUMNS = (
    "request_id",
    "at",
    "channel",
    "question",
    "answer",
    "answered_by",
    "handoff",
    "confidence",
    "department",
    "rating",
    "feedback_comment",
    "cited",
    "top_hits",
    "verdict",
    "review_note",
    "reviewer",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_row(rec: dict[str, Any]) -> list[str]:
    review = rec.get("review") or {}
    cited = "; ".join(f"{c.get('doc_id', '')} {c.get('title', '')}".strip() for c in rec.get("citations", []))
    hits = "; ".join(f"{h.get('doc_id', '')}={h.get('score', '')}" for h in rec.get("hits", [])[:5])
    values = {
        **rec,
        "cited": cited,
        "top_hits": hits,
        "verdict": review.get("verdict", ""),
        "review_note": review.get("note", ""),
        "reviewer": review.get("reviewer", ""),
    }
    return [cell(values.get(col, "")) for col in CSV_COLUMNS]


def to_csv(
    records: Iterable[dict[str, Any]], columns: Sequence[str] = CSV_COLUMNS, row: Any = csv_row
) -> str:
    """CSV text with a header line (UTF-8 with BOM when written, so Excel reads the Chinese)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for rec in records:
        writer.writerow(row(rec))
    return buf.getvalue()


def to_jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


@dataclass
class EvalExport:
    """The dataset rows and what was left out (with why)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def jsonl(self) -> str:
        return to_jsonl(self.rows)


def _fix_for(question: str, entries: Sequence[CuratedEntry]) -> CuratedEntry | None:
    """The newest curated entry that lists ``question`` among its variants (normalised, punctuation
    ignored), if any."""
    q = strip_punct(normalize_query(question))
    found = [e for e in entries if any(strip_punct(normalize_query(v)) == q for v in e.questions)]
    return max(found, key=lambda e: e.updated_at, default=None)


def _gold(citations: Iterable[dict[str, Any]]) -> list[str]:
    docs = [str(c.get("doc_id", "")) for c in citations]
    return list(dict.fromkeys(d for d in docs if d and not d.startswith("curated:")))


def eval_dataset(records: Iterable[dict[str, Any]], entries: Sequence[CuratedEntry]) -> EvalExport:
    """Reviewed exchange records (``exchange_record`` dicts with a ``review``) → evaluation rows."""
    out = EvalExport()
    for rec in records:
        review = rec.get("review") or {}
        verdict, rid = review.get("verdict", ""), rec["request_id"]
        base = {"id": f"review-{rid}", "question": rec["question"], "department": rec.get("department", "")}
        if verdict == "correct":
            if rec.get("handoff"):
                out.rows.append({**base, "should_handoff": True, "handoff_reason": rec["handoff"]})
                continue
            gold = _gold(rec.get("citations", []))
            if not gold:
                out.skipped.append({"request_id": rid, "why": "correct, but the answer cites no document"})
                continue
            out.rows.append(
                {**base, "answer": rec["answer"], "gold_passage_ids": gold, "should_handoff": False}
            )
        elif verdict in ("wrong", "needs_curated"):
            fix = _fix_for(rec["question"], entries)
            if fix is None or not fix.sources:
                out.skipped.append(
                    {"request_id": rid, "why": f"{verdict}, and no curated answer with sources fixes it"}
                )
                continue
            out.rows.append(
                {
                    **base,
                    "answer": fix.answer,
                    "gold_passage_ids": list(fix.sources),
                    "should_handoff": False,
                    "curated_id": fix.id,
                }
            )
        else:
            out.skipped.append({"request_id": rid, "why": "not reviewed"})
    return out
