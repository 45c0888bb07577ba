"""Knowledge loaders: a registry of file extension → loader, ``load_file`` and ``iter_knowledge``.

Each loader takes ``(path, root)`` and returns the Documents in that file (ids and ``source`` are
relative to ``root``), raising ``LoaderError(path, reason)`` for malformed or unreadable input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ...errors import LoaderError
from ...types import Document
from .common import normalize_date, normalize_status
from .html import html_to_text, load_html
from .legacy import load_legacy
from .limits import MAX_SECONDS_PER_FILE, FileTimeout, check_size, time_limit
from .markdown import load_markdown, load_text
from .ofd import load_ofd
from .office import load_docx, load_pdf
from .records import load_json, load_jsonl, load_yaml
from .scans import load_image
from .sheets import load_xlsx

Loader = Callable[[Path, Path], list[Document]]

LOADERS: dict[str, Loader] = {
    ".json": load_json,
    ".jsonl": load_jsonl,
    ".yaml": load_yaml,
    ".yml": load_yaml,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".xlsx": load_xlsx,
    ".ofd": load_ofd,
    ".png": load_image,
    ".jpg": load_image,
    ".jpeg": load_image,
    ".tif": load_image,
    ".tiff": load_image,
    ".doc": load_legacy,
    ".wps": load_legacy,
    ".xls": load_legacy,
    ".et": load_legacy,
}

SKIP_NAMES = frozenset({"readme.md", "convert_raw.py"})


def load_file(path: Path, root: Path, seconds: float = MAX_SECONDS_PER_FILE) -> list[Document]:
    """Load one knowledge file with the loader registered for its extension.

    Any failure, including a library's own bug (pypdf's NotImplementedError on an unsupported filter,
    RecursionError on deep nesting), becomes a ``LoaderError`` naming the file; files over the size
    cap or the time budget (``limits``) too. Only KeyboardInterrupt/SystemExit pass through.
    """
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoaderError(str(path), f"no loader for extension {path.suffix or '(none)'}")
    try:
        check_size(path)
        with time_limit(seconds):
            return loader(path, root)
    except LoaderError:
        raise
    except FileTimeout as exc:
        raise LoaderError(str(path), str(exc)) from exc
    except Exception as exc:  # never crash the whole ingest on one file; name it instead
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise LoaderError(str(path), f"{type(exc).__name__}: {detail}".rstrip(": ")) from exc


def knowledge_files(root: Path) -> list[Path]:
    """Files under ``root`` that a loader handles, sorted; hidden paths and READMEs are skipped."""
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith((".", "_")) for part in rel.parts) or not path.is_file():
            continue
        if path.name.lower() in SKIP_NAMES or path.suffix.lower() not in LOADERS:
            continue
        files.append(path)
    return files


def iter_knowledge(root: Path, strict: bool = False) -> tuple[list[Document], list[LoaderError]]:
    """Load every knowledge file under ``root``; bad files (and duplicate ids) are reported, not fatal.

    With ``strict=True`` the first problem is raised instead.
    """
    root = Path(root)
    if not root.is_dir():
        raise LoaderError(str(root), "knowledge directory does not exist")
    docs: list[Document] = []
    errors: list[LoaderError] = []
    seen: dict[str, str] = {}
    for path in knowledge_files(root):
        try:
            loaded = load_file(path, root)
            for doc in loaded:
                if doc.id in seen:
                    raise LoaderError(str(path), f"duplicate document id {doc.id!r} (also in {seen[doc.id]})")
        except LoaderError as exc:
            if strict:
                raise
            errors.append(exc)
            continue
        for doc in loaded:
            seen[doc.id] = doc.source
        docs.extend(loaded)
    return docs, errors


__all__ = [
    "LOADERS",
    "Loader",
    "html_to_text",
    "iter_knowledge",
    "knowledge_files",
    "load_file",
    "normalize_date",
    "normalize_status",
]
