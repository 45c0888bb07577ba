"""Which documents are in force on a given day: the one home of the validity rule.

The rule: a document is **in force** on ``today`` when its status is neither 已废止 (repealed) nor
已修订 (superseded by a newer version: its text is no longer the rule), its ``effective_date`` (if any)
is not after ``today`` and its ``expiry_date`` (if any) is not before ``today``. Documents without a
status count as 现行有效. Documents that are not in force are left out — by the retriever and again by
the last guard before answering — unless the question asks for history (以前的政策, 旧版, 已废止 …) or
the caller explicitly includes them (``Filters.include_expired`` / ``retrieval.include_expired``).

"Today" is the configured ISO date when one is set (tests, evaluations, a server pinned to a date),
else the real date, read each time so a server left running past an expiry date stops citing it.
Dates are ISO strings (``YYYY-MM-DD``) and compare as strings.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InvalidInputError
from .types import STATUS_REPEALED, STATUS_REVISED, Chunk, Hit

NOT_IN_FORCE = frozenset({STATUS_REPEALED, STATUS_REVISED})
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
HISTORY_WORDS = re.compile(r"(历史|以前|之前|原来|旧版|废止|失效|过去|曾经|老政策)")


def today_iso(*dates: str) -> str:
    """The first non-empty ISO date of ``dates`` (a request's, then the configured one), else the real date."""
    return next((d for d in dates if d), "") or _dt.date.today().isoformat()


def asks_for_history(question: str) -> bool:
    """True when the (normalised) question asks about old, repealed or superseded rules."""
    return bool(HISTORY_WORDS.search(question))


def _field(meta: Mapping[str, object], key: str) -> str:
    return str(meta.get(key, "") or "")


def in_force(meta: Mapping[str, object], today: str) -> bool:
    """The rule above for one document's metadata."""
    if _field(meta, "status") in NOT_IN_FORCE:
        return False
    effective, expiry = _field(meta, "effective_date"), _field(meta, "expiry_date")
    return not (effective and effective > today) and not (expiry and expiry < today)


def in_force_expression(today: str) -> str:
    """The rule above as a Milvus filter expression over the string fields ``status``,
    ``effective_date`` and ``expiry_date`` ("" when a document has none); ``today`` must be ISO."""
    if not ISO_DATE.fullmatch(today):
        raise InvalidInputError(f"not an ISO date (YYYY-MM-DD): {today!r}")
    statuses = ", ".join(json.dumps(s, ensure_ascii=False) for s in sorted(NOT_IN_FORCE))
    return (
        f'(status not in [{statuses}]) and (effective_date == "" or effective_date <= "{today}")'
        f' and (expiry_date == "" or expiry_date >= "{today}")'
    )


def current_hits(hits: Sequence[Hit], today: str, *, include_old: bool = False) -> list[Hit]:
    """``hits`` whose documents are in force on ``today`` (all of them when ``include_old``)."""
    return list(hits) if include_old else [h for h in hits if in_force(h.chunk.metadata, today)]


@dataclass
class ValidityTable:
    """The same rule as ``in_force``, vectorised over an index's rows (built once when the index loads)."""

    not_in_force: np.ndarray  # per row: status 已废止 / 已修订
    effective: np.ndarray  # per row: ISO effective date, "" when none
    expiry: np.ndarray  # per row: ISO expiry date, "" when open-ended

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> ValidityTable:
        metas = [c.metadata for c in chunks]
        return cls(
            np.array([_field(m, "status") in NOT_IN_FORCE for m in metas], dtype=bool),
            np.array([_field(m, "effective_date") for m in metas], dtype=str),
            np.array([_field(m, "expiry_date") for m in metas], dtype=str),
        )

    def in_force(self, rows: np.ndarray, today: str) -> np.ndarray:
        """For each of ``rows``: True when its document is in force on ``today``."""
        effective, expiry = self.effective[rows], self.expiry[rows]
        return (
            ~self.not_in_force[rows]
            & ((effective == "") | (effective <= today))
            & ((expiry == "") | (expiry >= today))
        )
