"""What the current index holds, per document: the console's document list, one document's chunks,
and the alerts (expiring soon, expired but still 现行有效, not cited lately).

Read from the generation ``CURRENT`` names (the one every server process converges on), one pass
over ``chunks.jsonl`` per generation keeping a small summary per document, cached until the pointer
moves. A document's chunks are read on demand. Text search goes through the retriever (its hybrid
search, old documents included), so "text" finds what a citizen's question would find.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NotFoundError
from ..index.store import current_generation_name
from ..types import STATUS_CURRENT, Chunk
from ..validity import in_force, today_iso

SUMMARY_FIELDS = (
    "title",
    "type",
    "source",
    "department",
    "region",
    "doc_number",
    "issuer",
    "publish_date",
    "effective_date",
    "expiry_date",
    "status",
    "url",
    "aliases",
)


@dataclass
class DocumentSummary:
    id: str
    chunks: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, today: str) -> dict[str, Any]:
        return {"id": self.id, "chunks": self.chunks, "in_force": in_force(self.meta, today), **self.meta}


@dataclass
class DocumentFilter:
    """List filters; empty strings mean "any"."""

    type: str = ""
    region: str = ""
    department: str = ""
    status: str = ""
    validity: str = ""  # in_force | not_in_force
    doc_number: str = ""  # 文号, substring
    title: str = ""  # substring of the title


class Catalog:
    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self._cache: tuple[str, dict[str, DocumentSummary]] | None = None
        self._lock = threading.Lock()

    def generation(self) -> str | None:
        return current_generation_name(self.index_dir)

    def summaries(self) -> dict[str, DocumentSummary]:
        """Per document of the current generation, in index order (empty without an index)."""
        name = self.generation()
        if name is None:
            return {}
        with self._lock:
            if self._cache is not None and self._cache[0] == name:
                return self._cache[1]
            docs: dict[str, DocumentSummary] = {}
            for chunk in self._chunks(name):
                summary = docs.get(chunk.doc_id)
                if summary is None:
                    meta: dict[str, Any] = {k: str(chunk.metadata.get(k) or "") for k in SUMMARY_FIELDS}
                    meta["aliases"] = [str(a) for a in chunk.metadata.get("aliases") or []]
                    meta["title"] = meta["title"] or chunk.title
                    docs[chunk.doc_id] = summary = DocumentSummary(chunk.doc_id, 0, meta)
                summary.chunks += 1
            self._cache = (name, docs)
            return docs

    def _chunks(self, generation: str, doc_id: str | None = None) -> Iterable[Chunk]:
        path = self.index_dir / generation / "chunks.jsonl"
        needle = None if doc_id is None else json.dumps(doc_id, ensure_ascii=False)
        try:
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if needle is not None and needle not in line:
                        continue  # cheap pre-filter: most lines are other documents'
                    chunk = Chunk.from_dict(json.loads(line))
                    if doc_id is None or chunk.doc_id == doc_id:
                        yield chunk
        except FileNotFoundError:
            return

    def get(self, doc_id: str) -> tuple[DocumentSummary, list[Chunk]]:
        """One document's summary and chunks (``NotFoundError`` when the current index lacks it)."""
        summary = self.summaries().get(doc_id)
        name = self.generation()
        if summary is None or name is None:
            raise NotFoundError(f"no document {doc_id!r} in the current index")
        return summary, list(self._chunks(name, doc_id))

    def search(
        self,
        flt: DocumentFilter,
        today: str,
        ids: list[str] | None = None,
    ) -> list[DocumentSummary]:
        """Documents matching every filter; ``ids`` (text search hits, best first) restricts and orders."""
        docs = self.summaries()
        pool = [docs[i] for i in ids if i in docs] if ids is not None else list(docs.values())
        return [d for d in pool if _matches(d, flt, today)]

    def alerts(
        self, today: str, warn_days: int, uncited_days: int, cited: Callable[[], Mapping[str, int] | None]
    ) -> dict[str, Any]:
        """Documents expiring within ``warn_days``, expired but still 现行有效, and not cited lately.

        ``cited()`` gives citations per document over the last ``uncited_days`` (None: no exchange
        store to count from; the third list is then left out and ``uncited_available`` is false).
        """
        today = today_iso(today)
        horizon = (_dt.date.fromisoformat(today) + _dt.timedelta(days=warn_days)).isoformat()
        expiring, expired = [], []
        docs = self.summaries()
        for d in docs.values():
            expiry, status = str(d.meta.get("expiry_date") or ""), str(d.meta.get("status") or STATUS_CURRENT)
            if not expiry or status != STATUS_CURRENT:
                continue
            if expiry < today:
                expired.append(_alert(d, expiry))
            elif expiry <= horizon:
                expiring.append(_alert(d, expiry))
        counts = cited()
        uncited = (
            [_alert(d, "") for d in docs.values() if not counts.get(d.id) and in_force(d.meta, today)]
            if counts is not None
            else []
        )
        return {
            "today": today,
            "expiring": sorted(expiring, key=lambda a: a["expiry_date"]),
            "expired_in_force": sorted(expired, key=lambda a: a["expiry_date"]),
            "uncited": uncited,
            "uncited_available": counts is not None,
            "warn_days": warn_days,
            "uncited_days": uncited_days,
        }


def _alert(d: DocumentSummary, expiry: str) -> dict[str, Any]:
    return {
        "id": d.id,
        "title": d.meta.get("title", ""),
        "department": d.meta.get("department", ""),
        "expiry_date": expiry,
    }


def _matches(d: DocumentSummary, f: DocumentFilter, today: str) -> bool:
    m = d.meta
    if f.type and m.get("type") != f.type:
        return False
    if f.status and (m.get("status") or STATUS_CURRENT) != f.status:
        return False
    for name, wanted in (
        ("region", f.region),
        ("department", f.department),
        ("doc_number", f.doc_number),
        ("title", f.title),
    ):
        if wanted and wanted not in str(m.get(name) or ""):
            return False
    return not f.validity or (f.validity == "in_force") == in_force(m, today)
