"""The operator-managed part of the knowledge directory: uploaded files and metadata overrides.

Layout (``<knowledge_dir>/_admin/``; loaders skip folders starting with ``_``, so only this module
reads it)::

    overrides.json            {"documents": {"<document id>": {"status": "已废止", ..., "deleted": true}}}
    uploads/<document id>/<file name>   one uploaded file per document id, in any loader format

``apply_overlay`` runs inside every ingest (``build.ingest``, hence also ``python -m assistant ingest``):
uploaded files are loaded and take the document id they were uploaded under (a file holding several
records, e.g. a guide JSONL, gives ``<id>-<record id>``); an upload with the id of a starter document
replaces it; then each document's overrides are applied and documents marked ``deleted`` dropped.
So starter files are never edited: every operator change lives here and is replayed on each ingest.

Writes are atomic (temp file + ``os.replace``) and serialised by a lock file, so several server
processes can change the folder at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, LoaderError
from ..types import STATUS_CURRENT, STATUS_REPEALED, STATUS_REVISED, Document
from .loaders import LOADERS, load_file
from .loaders.common import normalize_date

ADMIN_DIRNAME = "_admin"
STATUSES = (STATUS_CURRENT, STATUS_REVISED, STATUS_REPEALED)
DOC_TYPES = ("guide", "policy", "law", "faq", "page")
# metadata an operator may set; everything else comes from the file
OVERRIDE_FIELDS = (
    "title",
    "type",
    "status",
    "effective_date",
    "expiry_date",
    "region",
    "department",
    "doc_number",
    "aliases",
)
_DATE_FIELDS = ("effective_date", "expiry_date")
DOCUMENT_ID = re.compile(r"[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9_.\u4e00-\u9fff-]{0,119}")
_FILENAME_UNSAFE = re.compile(r"[^\w.\u4e00-\u9fff-]+")


def clean_overrides(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated override values (unknown fields, bad dates or statuses: ``InvalidInputError``).

    ``None`` removes an override (the file's own value counts again); ``""`` clears the value.
    """
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in OVERRIDE_FIELDS:
            raise InvalidInputError(
                f"metadata field {name!r} cannot be set (allowed: {', '.join(OVERRIDE_FIELDS)})"
            )
        if value is None:
            out[name] = None
        elif name == "aliases":
            items = value if isinstance(value, list) else re.split(r"[、，,；;\n]+", str(value))
            out[name] = [str(a).strip()[:40] for a in items if str(a).strip()][:50]
        elif name == "type":
            if value not in DOC_TYPES:
                raise InvalidInputError(f"type must be one of {', '.join(DOC_TYPES)}")
            out[name] = value
        elif name == "status":
            if value not in STATUSES:
                raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}")
            out[name] = value
        elif name in _DATE_FIELDS:
            text = str(value).strip()
            date = normalize_date(text) if text else ""
            if text and not date:
                raise InvalidInputError(f"{name} is not a date: {text!r} (use yyyy-mm-dd)")
            out[name] = date
        else:
            out[name] = str(value).strip()[:200]
    return out


def check_document_id(document_id: str) -> str:
    if not DOCUMENT_ID.fullmatch(document_id or ""):
        raise InvalidInputError(
            "document_id: 1-120 letters, digits, Chinese characters, '.', '_' or '-' (not first)"
        )
    return document_id


def safe_filename(filename: str) -> str:
    """The base name of an uploaded file, reduced to safe characters; its extension must have a loader."""
    name = _FILENAME_UNSAFE.sub("_", os.path.basename(filename or "").strip()).strip("._") or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in LOADERS:
        raise InvalidInputError(
            f"no loader for {suffix or 'files without an extension'}; supported: {', '.join(sorted(LOADERS))}"
        )
    return name[-120:]


class Overlay:
    """The ``_admin`` folder of one knowledge directory."""

    def __init__(self, knowledge_dir: Path) -> None:
        self.root = Path(knowledge_dir) / ADMIN_DIRNAME
        self.uploads_dir = self.root / "uploads"
        self.overrides_path = self.root / "overrides.json"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise read-modify-write cycles across threads and processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ overrides

    def overrides(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.overrides_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        docs = data.get("documents", {}) if isinstance(data, dict) else {}
        return {str(k): dict(v) for k, v in docs.items() if isinstance(v, dict)}

    def override_of(self, document_id: str) -> dict[str, Any]:
        return self.overrides().get(document_id, {})

    def set_override(self, document_id: str, entry: dict[str, Any]) -> None:
        """Replace one document's whole override entry (empty: no override). Call under ``locked``."""
        docs = self.overrides()
        entry = {k: v for k, v in entry.items() if v is not None}
        if entry:
            docs[document_id] = entry
        else:
            docs.pop(document_id, None)
        self._write_json(self.overrides_path, {"documents": docs})

    # ------------------------------------------------------------------ uploads

    def uploads(self) -> dict[str, Path]:
        """Uploaded file per document id."""
        out: dict[str, Path] = {}
        if not self.uploads_dir.is_dir():
            return out
        for folder in sorted(self.uploads_dir.iterdir()):
            files = (
                sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
                if folder.is_dir()
                else []
            )
            if files:
                out[folder.name] = files[0]
        return out

    def upload_of(self, document_id: str) -> Path | None:
        return self.uploads().get(document_id)

    def save_upload(self, document_id: str, filename: str, content: bytes) -> Path:
        """Store ``content`` as the document's file, replacing any earlier one. Call under ``locked``."""
        folder = self.uploads_dir / check_document_id(document_id)
        tmp = self.uploads_dir / f".{document_id}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / safe_filename(filename)).write_bytes(content)
        old = self.uploads_dir / f".{document_id}.{os.getpid()}.old"
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
        return next(folder.iterdir())

    def remove_upload(self, document_id: str) -> bool:
        folder = self.uploads_dir / document_id
        if not folder.is_dir():
            return False
        shutil.rmtree(folder)
        return True

    def _write_json(self, path: Path, data: Any) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)


def load_uploads(overlay: Overlay) -> tuple[list[Document], list[LoaderError]]:
    """Documents from the uploaded files, under the ids they were uploaded as."""
    docs: list[Document] = []
    errors: list[LoaderError] = []
    for document_id, path in overlay.uploads().items():
        try:
            loaded = load_file(path, path.parent)
        except LoaderError as exc:
            errors.append(exc)
            continue
        source = path.relative_to(overlay.root.parent).as_posix()
        for doc in loaded:
            doc.id = document_id if len(loaded) == 1 else f"{document_id}-{doc.id}"
            doc.source = source
        docs.extend(loaded)
    return docs, errors


def apply_overlay(
    knowledge_dir: Path, documents: Sequence[Document]
) -> tuple[list[Document], list[LoaderError]]:
    """The starter documents plus uploads (an upload replaces a document of the same id), with the
    overrides applied and deleted documents left out; plus the uploads that failed to load."""
    overlay = Overlay(knowledge_dir)
    uploaded, errors = load_uploads(overlay)
    by_id: dict[str, Document] = {d.id: d for d in documents}
    for doc in uploaded:
        by_id.pop(doc.id, None)
        by_id[doc.id] = doc
    overrides = overlay.overrides()
    out: list[Document] = []
    for doc in by_id.values():
        entry = overrides.get(doc.id)
        if entry is None:
            out.append(doc)
        elif not entry.get("deleted"):
            out.append(replace(doc, **{k: v for k, v in entry.items() if k in OVERRIDE_FIELDS}))
    return out, errors
