"""The storage this package needs, as small protocols: job records, document versions, the audit log.

They match the repositories of ``assistant/storage`` (``db.jobs``, ``db.documents``, ``db.audit``);
``memory.py`` has in-process fakes of the same shape for tests and for running without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class JobRecord(Protocol):
    id: str
    kind: str
    status: str  # queued | running | done | failed
    progress: float
    message: str
    actor: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    result: dict[str, Any]


class JobStore(Protocol):
    def create(self, kind: str, *, actor: str = "", message: str = "") -> JobRecord:
        """A new queued job."""

    def get(self, job_id: str) -> JobRecord | None: ...

    def list(
        self, *, kind: str | None = None, status: str | None = None, limit: int = 50
    ) -> Sequence[JobRecord]:
        """Newest first."""

    def start(self, job_id: str, message: str = "") -> JobRecord:
        """queued → running (``ConflictError`` otherwise)."""

    def progress(self, job_id: str, progress: float, message: str = "") -> JobRecord: ...

    def finish(
        self, job_id: str, *, ok: bool = True, message: str = "", result: dict[str, Any] | None = None
    ) -> JobRecord:
        """→ done / failed."""


class VersionRecord(Protocol):
    document_id: str
    version: int
    action: str
    actor: str
    at: float
    metadata: dict[str, Any]
    sha256: str
    filename: str
    content: bytes | None


class VersionStore(Protocol):
    def add(
        self,
        document_id: str,
        action: str,
        *,
        actor: str,
        content: bytes | None = None,
        filename: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> VersionRecord:
        """Record the next version (1, 2, ...)."""

    def get(self, document_id: str, version: int) -> VersionRecord | None:
        """One version with its content."""

    def history(self, document_id: str) -> Sequence[VersionRecord]:
        """Every version, newest first, without content."""


class AuditSink(Protocol):
    def record(
        self, actor: str, role: str, action: str, target: str = "", before: Any = None, after: Any = None
    ) -> Any:
        """Append one entry."""
