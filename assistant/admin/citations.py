"""How often each document was cited by stored answers since a time: the "not cited lately" alert.

Reads the ``exchanges`` table of the state database (``assistant/storage``) in one query of the
citation lists only, and counts in Python (the JSON column is portable across SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from ..storage import Database
from ..storage.models import ExchangeRow


def citation_counts(db: Database, since: float) -> Counter[str]:
    """Citations per document id in exchanges created at or after ``since`` (Unix time)."""
    counts: Counter[str] = Counter()
    query = select(ExchangeRow.citations).where(ExchangeRow.created_at >= since)
    with db.engine.connect() as conn:
        for (citations,) in conn.execute(query):
            for c in citations or []:
                if isinstance(c, dict) and c.get("doc_id"):
                    counts[str(c["doc_id"])] += 1
    return counts
