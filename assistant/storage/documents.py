"""Document versions: every upload, change, deletion or restore of a knowledge file, with its bytes.

Keeping the content of each version lets an editor restore an earlier one; the newest version of a
document says what the knowledge directory should hold (``action == "delete"``: nothing).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import defer

from .base import Transactions
from .models import DocumentVersionRow


@dataclass
class DocumentVersion:
    document_id: str
    version: int
    action: str
    actor: str
    at: float
    metadata: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""
    filename: str = ""
    content: bytes | None = None  # None in listings; fetch one version with ``get``

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the content is left out (it may be megabytes)."""
        out = asdict(self)
        out.pop("content")
        return out


def _version(r: DocumentVersionRow, with_content: bool) -> DocumentVersion:
    return DocumentVersion(
        r.document_id,
        r.version,
        r.action,
        r.actor,
        r.at,
        dict(r.meta or {}),
        r.sha256,
        r.filename,
        r.content if with_content else None,
    )


class DocumentVersions:
    def __init__(self, engine: Engine) -> None:
        self._tx = Transactions(engine)

    def add(
        self,
        document_id: str,
        action: str,
        *,
        actor: str,
        content: bytes | None = None,
        filename: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> DocumentVersion:
        """Record the next version (1, 2, ...); two writers racing for one number: ``ConflictError``."""
        with self._tx() as s:
            last = s.scalar(
                select(func.max(DocumentVersionRow.version)).where(
                    DocumentVersionRow.document_id == document_id
                )
            )
            row = DocumentVersionRow(
                document_id=document_id,
                version=(last or 0) + 1,
                action=action,
                actor=actor,
                at=time.time(),
                meta=dict(metadata or {}),
                sha256=hashlib.sha256(content).hexdigest() if content is not None else "",
                content=content,
                filename=filename,
            )
            s.add(row)
            s.flush()
            return _version(row, with_content=False)

    def get(self, document_id: str, version: int) -> DocumentVersion | None:
        """One version with its content."""
        query = select(DocumentVersionRow).where(
            DocumentVersionRow.document_id == document_id, DocumentVersionRow.version == version
        )
        with self._tx() as s:
            row = s.scalar(query)
            return None if row is None else _version(row, with_content=True)

    def latest(self, document_id: str) -> DocumentVersion | None:
        """The newest version with its content."""
        query = (
            select(DocumentVersionRow)
            .where(DocumentVersionRow.document_id == document_id)
            .order_by(DocumentVersionRow.version.desc())
            .limit(1)
        )
        with self._tx() as s:
            row = s.scalar(query)
            return None if row is None else _version(row, with_content=True)

    def history(self, document_id: str) -> list[DocumentVersion]:
        """Every version of a document, newest first, without content."""
        query = (
            select(DocumentVersionRow)
            .options(defer(DocumentVersionRow.content))
            .where(DocumentVersionRow.document_id == document_id)
            .order_by(DocumentVersionRow.version.desc())
        )
        with self._tx() as s:
            return [_version(r, with_content=False) for r in s.scalars(query)]

    def documents(self) -> list[DocumentVersion]:
        """The newest version of every document ever recorded (deleted ones included), by id."""
        newest = (
            select(DocumentVersionRow.document_id, func.max(DocumentVersionRow.version).label("v"))
            .group_by(DocumentVersionRow.document_id)
            .subquery()
        )
        query = (
            select(DocumentVersionRow)
            .options(defer(DocumentVersionRow.content))
            .join(
                newest,
                (DocumentVersionRow.document_id == newest.c.document_id)
                & (DocumentVersionRow.version == newest.c.v),
            )
            .order_by(DocumentVersionRow.document_id)
        )
        with self._tx() as s:
            return [_version(r, with_content=False) for r in s.scalars(query)]
