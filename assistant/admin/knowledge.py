"""Knowledge operations: upload, replace, edit metadata, delete and restore documents.

Each operation changes the operator folder (``ingest/overlay.py``), records a document version
(who, when, what changed, the file's bytes when a file changed) and an audit entry (actor, role,
action, target, before/after), then queues an ingest job that brings the index in line. A version's
``metadata["state"]`` is the document's whole operator state after the change (its override entry
and uploaded file), so restoring version *n* puts exactly that state back.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConflictError, InvalidInputError, NotFoundError
from ..ingest.overlay import Overlay, check_document_id, clean_overrides, safe_filename
from .catalog import Catalog
from .jobs import IngestRunner
from .ports import AuditSink, JobRecord, VersionRecord, VersionStore


@dataclass(frozen=True)
class Operator:
    """Who acts: the audit's actor string (``role:key id``) and role."""

    actor: str
    role: str


class KnowledgeOps:
    def __init__(
        self,
        overlay: Overlay,
        catalog: Catalog,
        versions: VersionStore,
        audit: AuditSink,
        runner: IngestRunner,
        max_upload_bytes: int,
    ) -> None:
        self.overlay = overlay
        self.catalog = catalog
        self.versions = versions
        self.audit = audit
        self.runner = runner
        self.max_upload_bytes = max_upload_bytes

    # ------------------------------------------------------------------ files

    def upload(
        self, who: Operator, filename: str, content: bytes, metadata: dict[str, Any], document_id: str = ""
    ) -> tuple[str, JobRecord]:
        """A new document from a file (an existing starter id: this file replaces that document)."""
        self._check_file(filename, content)
        doc_id = check_document_id(document_id) if document_id else "up-" + uuid.uuid4().hex[:12]
        fields = clean_overrides(metadata)
        with self.overlay.locked():
            if self.overlay.upload_of(doc_id) is not None:
                raise ConflictError(f"document {doc_id} already has an uploaded file; replace it instead")
            before = self.state(doc_id)
            self.overlay.save_upload(doc_id, filename, content)
            self.overlay.set_override(doc_id, {**before["override"], **fields, "deleted": None})
            after = self.state(doc_id)
        self._record(who, doc_id, "upload", before, after, content, filename)
        return doc_id, self.runner.submit(who.actor, f"上传文档 {doc_id}")

    def replace(self, who: Operator, doc_id: str, filename: str, content: bytes) -> JobRecord:
        """A new file for an existing document (its metadata overrides stay)."""
        self._check_file(filename, content)
        with self.overlay.locked():
            self._require(doc_id)
            before = self.state(doc_id)
            self.overlay.save_upload(doc_id, filename, content)
            after = self.state(doc_id)
        self._record(who, doc_id, "replace", before, after, content, filename)
        return self.runner.submit(who.actor, f"替换文档 {doc_id}")

    def _check_file(self, filename: str, content: bytes) -> None:
        safe_filename(filename)  # raises for extensions no loader reads
        if not content:
            raise InvalidInputError("the uploaded file is empty")
        if len(content) > self.max_upload_bytes:
            raise InvalidInputError(f"the file is over {self.max_upload_bytes // 2**20} MB")

    # ------------------------------------------------------------------ metadata, delete, restore

    def update(self, who: Operator, doc_id: str, metadata: dict[str, Any]) -> JobRecord | None:
        """Set metadata overrides; a job when the indexed values change, else None."""
        fields = clean_overrides(metadata)
        with self.overlay.locked():
            self._require(doc_id)
            if not fields:
                return None  # nothing asked, nothing changed
            before = self.state(doc_id)
            self.overlay.set_override(doc_id, {**before["override"], **fields})
            after = self.state(doc_id)
        indexed = self.catalog.summaries().get(doc_id)
        reindex = indexed is None or any(
            value is None or indexed.meta.get(name) != value for name, value in fields.items()
        )
        self._record(who, doc_id, "update", before, after, changes=self._changes(indexed, fields))
        return self.runner.submit(who.actor, f"修改文档 {doc_id}") if reindex else None

    def delete(self, who: Operator, doc_id: str) -> JobRecord:
        """Take a document out of the index (its versions stay, so it can be restored)."""
        with self.overlay.locked():
            self._require(doc_id)
            before = self.state(doc_id)
            self.overlay.remove_upload(doc_id)
            self.overlay.set_override(doc_id, {**before["override"], "deleted": True})
            after = self.state(doc_id)
        self._record(who, doc_id, "delete", before, after)
        return self.runner.submit(who.actor, f"删除文档 {doc_id}")

    def restore(self, who: Operator, doc_id: str, version: int) -> JobRecord:
        """Put back the operator state recorded by ``version`` (file and metadata)."""
        target = self.versions.get(doc_id, version)
        if target is None:
            raise NotFoundError(f"document {doc_id} has no version {version}")
        state = dict(target.metadata.get("state") or {})
        upload = state.get("upload") or {}
        content = self._content(doc_id, version, str(upload.get("sha256", ""))) if upload else None
        with self.overlay.locked():
            before = self.state(doc_id)
            if upload and content is not None:
                self.overlay.save_upload(doc_id, str(upload.get("filename") or "restored.txt"), content)
            elif not upload:
                self.overlay.remove_upload(doc_id)
            self.overlay.set_override(doc_id, dict(state.get("override") or {}))
            after = self.state(doc_id)
        self._record(
            who, doc_id, "restore", before, after, content, str(upload.get("filename", "")), note=version
        )
        return self.runner.submit(who.actor, f"恢复文档 {doc_id} 到版本 {version}")

    def history(self, doc_id: str) -> Sequence[VersionRecord]:
        return self.versions.history(doc_id)

    # ------------------------------------------------------------------ helpers

    def _require(self, doc_id: str) -> None:
        """The document exists: indexed, uploaded (maybe not indexed yet) or overridden."""
        if (
            doc_id not in self.catalog.summaries()
            and self.overlay.upload_of(doc_id) is None
            and doc_id not in self.overlay.overrides()
        ):
            raise NotFoundError(f"no document {doc_id!r}")

    def state(self, doc_id: str) -> dict[str, Any]:
        path = self.overlay.upload_of(doc_id)
        upload = (
            {
                "filename": path.name,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "bytes": path.stat().st_size,
            }
            if path is not None
            else None
        )
        return {"override": self.overlay.override_of(doc_id), "upload": upload}

    def _content(self, doc_id: str, up_to: int, sha256: str) -> bytes | None:
        """The file bytes with ``sha256`` from the newest version ≤ ``up_to`` that stored them."""
        for v in self.versions.history(doc_id):
            if v.version <= up_to and v.sha256 == sha256:
                full = self.versions.get(doc_id, v.version)
                if full is not None and full.content is not None:
                    return full.content
        raise NotFoundError(f"the file of version {up_to} of {doc_id} is no longer stored")

    @staticmethod
    def _changes(indexed: Any, fields: dict[str, Any]) -> dict[str, list[Any]]:
        meta = indexed.meta if indexed is not None else {}
        return {k: [meta.get(k), v] for k, v in fields.items()}

    def _record(
        self,
        who: Operator,
        doc_id: str,
        action: str,
        before: dict[str, Any],
        after: dict[str, Any],
        content: bytes | None = None,
        filename: str = "",
        *,
        changes: dict[str, list[Any]] | None = None,
        note: int | None = None,
    ) -> None:
        metadata: dict[str, Any] = {"state": after, "changes": changes or _diff(before, after)}
        if note is not None:
            metadata["restored_version"] = note
        self.versions.add(
            doc_id, action, actor=who.actor, content=content, filename=filename, metadata=metadata
        )
        self.audit.record(who.actor, who.role, f"document.{action}", doc_id, before=before, after=after)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Changed override fields and the file, as ``{name: [before, after]}``."""
    out: dict[str, list[Any]] = {}
    b_over, a_over = before.get("override") or {}, after.get("override") or {}
    for key in sorted(set(b_over) | set(a_over)):
        if b_over.get(key) != a_over.get(key):
            out[key] = [b_over.get(key), a_over.get(key)]
    b_file, a_file = before.get("upload") or {}, after.get("upload") or {}
    if b_file.get("sha256") != a_file.get("sha256"):
        out["file"] = [b_file.get("filename"), a_file.get("filename")]
    return out
