"""Excel ``.xlsx`` (openpyxl): one ``page`` Document per workbook, each sheet a ``## 名称`` section
holding its table as ``| a | b |`` rows under the header row.

The chunker keeps a table whole when it is small and otherwise cuts it into row groups that each
start with the header row, so a fee schedule row ("护照 | 120元/本") is retrieved with its column
names. One-cell rows above the header (a caption such as "2024年收费标准") stay as text.

Shortcut: the header is the first row with two or more filled cells; merged cells read as their
top-left value; formulas as their cached values (a file saved by Excel has them); at most
``MAX_ROWS`` rows per sheet.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from ...errors import LoaderError, MissingDependencyError
from ...types import Document
from .header import official_document
from .office import table_lines

MAX_ROWS = 5000


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value).strip()


def sheet_lines(name: str, rows: list[list[str]]) -> list[str]:
    """A sheet as ``## name``, caption lines, then its table (empty columns dropped)."""
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    used = [j for j in range(width) if any(r[j] for r in rows)]
    rows = [[r[j] for j in used] for r in rows]
    start = next((i for i, r in enumerate(rows) if sum(1 for c in r if c) >= 2), len(rows))
    captions = ["".join(r) for r in rows[:start]]
    return [f"## {name}", *captions, *table_lines([list(r) for r in rows[start:]])]


def load_xlsx(path: Path, root: Path) -> list[Document]:
    """Every sheet of a workbook as a table section."""
    try:
        import openpyxl
    except ImportError as exc:
        raise MissingDependencyError("openpyxl", "default") from exc
    try:
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise LoaderError(str(path), f"unreadable .xlsx: {exc}") from exc
    lines: list[str] = []
    try:
        for ws in book.worksheets:
            rows = []
            for n, row in enumerate(ws.iter_rows(values_only=True)):
                if n >= MAX_ROWS:
                    break
                rows.append([_cell(v) for v in row])
            lines.extend(sheet_lines(ws.title, rows))
        title = (book.properties.title or "").strip()
    finally:
        book.close()
    if not title:
        title = next((ln for ln in lines if not ln.startswith(("## ", "| "))), "")
    return official_document(path, root, title or path.stem, "\n".join(lines), "no cells with text")
