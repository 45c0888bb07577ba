"""Ingest quarantine: documents with text addressed to an AI or with fraud patterns are held back for review.

``screen_documents`` splits documents into the ones to index and the quarantined ones, each with its
reasons (``screening/patterns.py``: '忽略以上指令', 'SYSTEM:', role-play set-ups; transfers to personal
accounts, 400/mobile or account numbers next to 转账/汇款 …). ``write_quarantine`` lists them for a
reviewer in ``screening.quarantine_dir``: ``quarantine.jsonl`` (one line per document: id, title,
source, reasons, masked evidence, time) and one ``<id>.json`` per document with its full text. A
reviewer who clears a document moves or fixes its file; until then it is not indexed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..screening.patterns import Flag, document_flags
from ..types import Document

QUARANTINE_LIST = "quarantine.jsonl"


@dataclass(frozen=True)
class Quarantined:
    """A document held back at ingest and why."""

    doc_id: str
    title: str
    source: str
    flags: tuple[Flag, ...]

    @property
    def reasons(self) -> list[str]:
        return [f"{f.kind}: {f.reason}" for f in self.flags]


def document_text(doc: Document) -> str:
    """Everything of a document that could reach an answer: title, text, sections, string fields."""
    parts = [doc.title, doc.text]
    for s in doc.sections:
        parts += [s.heading, s.text]
    parts += [v for v in doc.fields.values() if isinstance(v, str)]
    return "\n".join(p for p in parts if p)


def screen_documents(documents: Iterable[Document]) -> tuple[list[Document], list[Quarantined]]:
    """(documents to index, quarantined documents with their flags)."""
    kept: list[Document] = []
    held: list[Quarantined] = []
    for doc in documents:
        flags = document_flags(document_text(doc))
        if flags:
            held.append(Quarantined(doc.id, doc.title, doc.source, tuple(flags)))
        else:
            kept.append(doc)
    return kept, held


def _file_name(doc_id: str) -> str:
    safe = re.sub(r"[^\w.-]+", "_", doc_id)[:80]
    return f"{safe}-{hashlib.sha256(doc_id.encode()).hexdigest()[:8]}.json"


def write_quarantine(
    directory: Path, held: Sequence[Quarantined], documents: Sequence[Document]
) -> Path | None:
    """Write the review list and one file per held document; returns the list's path (None: nothing held)."""
    if not held:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    by_id = {d.id: d for d in documents}
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    lines = []
    for q in held:
        name = _file_name(q.doc_id)
        record: dict[str, object] = {
            "doc_id": q.doc_id,
            "title": q.title,
            "source": q.source,
            "reasons": q.reasons,
            "evidence": [f.evidence for f in q.flags],
            "quarantined_at": now,
            "file": name,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
        doc = by_id.get(q.doc_id)
        if doc is not None:
            full = {**record, "document": asdict(doc)}
            (directory / name).write_text(
                json.dumps(full, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
            )
    path = directory / QUARANTINE_LIST
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
