"""In-process job, version and audit stores (the ``ports`` protocols): for tests, and for a server
started without a database. Nothing survives a restart."""

from __future__ import annotations

import builtins
import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConflictError, NotFoundError


@dataclass
class MemoryJob:
    id: str
    kind: str
    status: str
    progress: float = 0.0
    message: str = ""
    actor: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] = field(default_factory=dict)


class MemoryJobs:
    def __init__(self) -> None:
        self._jobs: dict[str, MemoryJob] = {}
        self._lock = threading.Lock()

    def create(self, kind: str, *, actor: str = "", message: str = "") -> MemoryJob:
        job = MemoryJob(
            uuid.uuid4().hex, kind, "queued", actor=actor, message=message, created_at=time.time()
        )
        with self._lock:
            self._jobs[job.id] = job
        return replace(job)

    def get(self, job_id: str) -> MemoryJob | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return replace(job) if job else None

    def list(
        self, *, kind: str | None = None, status: str | None = None, limit: int = 50
    ) -> builtins.list[MemoryJob]:
        with self._lock:
            jobs = [
                replace(j)
                for j in self._jobs.values()
                if (kind is None or j.kind == kind) and (status is None or j.status == status)
            ]
        return sorted(jobs, key=lambda j: -j.created_at)[:limit]

    def _update(self, job_id: str, **changes: Any) -> MemoryJob:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFoundError(f"unknown job {job_id}")
            if "status" in changes and job.status in ("done", "failed"):
                raise ConflictError(f"job {job_id} already {job.status}")
            if changes.get("status") == "running" and job.status != "queued":
                raise ConflictError(f"job {job_id} is {job.status}, not queued")
            for k, v in changes.items():
                setattr(job, k, v)
            return replace(job)

    def start(self, job_id: str, message: str = "") -> MemoryJob:
        return self._update(job_id, status="running", started_at=time.time(), message=message)

    def progress(self, job_id: str, progress: float, message: str = "") -> MemoryJob:
        return self._update(job_id, progress=max(0.0, min(1.0, progress)), message=message)

    def finish(
        self, job_id: str, *, ok: bool = True, message: str = "", result: dict[str, Any] | None = None
    ) -> MemoryJob:
        extra = {"progress": 1.0} if ok else {}
        return self._update(
            job_id,
            status="done" if ok else "failed",
            finished_at=time.time(),
            message=message,
            result=dict(result or {}),
            **extra,
        )


@dataclass
class MemoryVersion:
    document_id: str
    version: int
    action: str
    actor: str
    at: float
    metadata: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""
    filename: str = ""
    content: bytes | None = None


class MemoryVersions:
    def __init__(self) -> None:
        self._versions: dict[str, list[MemoryVersion]] = {}
        self._lock = threading.Lock()

    def add(
        self,
        document_id: str,
        action: str,
        *,
        actor: str,
        content: bytes | None = None,
        filename: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> MemoryVersion:
        with self._lock:
            versions = self._versions.setdefault(document_id, [])
            v = MemoryVersion(
                document_id,
                len(versions) + 1,
                action,
                actor,
                time.time(),
                dict(metadata or {}),
                hashlib.sha256(content).hexdigest() if content is not None else "",
                filename,
                content,
            )
            versions.append(v)
            return replace(v, content=None)

    def get(self, document_id: str, version: int) -> MemoryVersion | None:
        with self._lock:
            for v in self._versions.get(document_id, []):
                if v.version == version:
                    return replace(v)
        return None

    def history(self, document_id: str) -> builtins.list[MemoryVersion]:
        with self._lock:
            return [replace(v, content=None) for v in reversed(self._versions.get(document_id, []))]


@dataclass(frozen=True)
class MemoryAuditEntry:
    id: int
    actor: str
    role: str
    action: str
    target: str
    at: float
    before: Any
    after: Any


class MemoryAudit:
    def __init__(self) -> None:
        self.entries: list[MemoryAuditEntry] = []
        self._lock = threading.Lock()

    def record(
        self, actor: str, role: str, action: str, target: str = "", before: Any = None, after: Any = None
    ) -> MemoryAuditEntry:
        with self._lock:
            entry = MemoryAuditEntry(
                len(self.entries) + 1, actor, role, action, target, time.time(), before, after
            )
            self.entries.append(entry)
            return entry
