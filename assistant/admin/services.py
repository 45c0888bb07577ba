"""Wiring of the knowledge operations for one server process (built by the app factory, held at
``app.state.admin``): the catalog, the ingest runner, the stores, and ``KnowledgeOps`` over them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..ingest.overlay import Overlay
from .catalog import Catalog
from .jobs import IngestRunner
from .knowledge import KnowledgeOps
from .memory import MemoryAudit, MemoryJobs, MemoryVersions
from .ports import AuditSink, JobStore, VersionStore

CitationCounter = Callable[[float], Mapping[str, int] | None]  # since (Unix time) → citations per document


@dataclass
class AdminServices:
    settings: Settings
    catalog: Catalog
    jobs: JobStore
    versions: VersionStore
    audit: AuditSink
    runner: IngestRunner
    knowledge: KnowledgeOps
    citations: CitationCounter

    def close(self) -> None:
        self.runner.close()


def build_admin(
    settings: Settings,
    on_index_written: Callable[[], object],
    *,
    jobs: JobStore | None = None,
    versions: VersionStore | None = None,
    audit: AuditSink | None = None,
    citations: CitationCounter | None = None,
) -> AdminServices:
    """Cheap: nothing runs until a change is submitted. Stores default to the in-process ones."""
    jobs = jobs if jobs is not None else MemoryJobs()
    versions = versions if versions is not None else MemoryVersions()
    audit = audit if audit is not None else MemoryAudit()
    catalog = Catalog(settings.index_dir)
    runner = IngestRunner(settings, jobs, on_done=on_index_written)
    runner.fail_abandoned()  # left queued/running by a server that stopped mid-job
    ops = KnowledgeOps(
        Overlay(settings.knowledge_dir), catalog, versions, audit, runner, settings.admin.max_upload_bytes
    )
    return AdminServices(settings, catalog, jobs, versions, audit, runner, ops, citations or _no_citations)


def _no_citations(since: float) -> Any:
    return None
