"""PDF (pypdf) and Word .docx (python-docx, tables included) loaders."""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import LoaderError
from ...types import Document
from .html import clean_lines, page_document


def load_pdf(path: Path, root: Path) -> list[Document]:
    """Text of every page; the PDF title metadata (or the file name) is the title."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        reader = PdfReader(str(path))
        pages = [p.extract_text() or "" for p in reader.pages]
        meta = reader.metadata
        title = str(meta.get("/Title") or "").strip() if meta is not None else ""
    except (OSError, ValueError, PyPdfError) as exc:
        raise LoaderError(str(path), f"unreadable PDF: {exc}") from exc
    # pypdf splits Chinese lines mid-sentence; join lines that do not end a sentence
    text = clean_lines("\n".join(pages))
    text = re.sub(r"(?<![。！？；：:.!?;])\n(?![（(]?[一二三四五六七八九十\d]+[、.．)）]|第)", "", text)
    return page_document(path, root, title, text, "no extractable text")


def load_docx(path: Path, root: Path) -> list[Document]:
    """Paragraphs in order (headings as '## '), tables as '| a | b |' rows with their header row."""
    try:
        import docx
        from docx.document import Document as DocxDocument
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        d: DocxDocument = docx.Document(str(path))
    except Exception as exc:  # python-docx raises zipfile/KeyError/ValueError variants
        raise LoaderError(str(path), f"unreadable .docx: {exc}") from exc
    lines: list[str] = []
    for block in d.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if not text:
                continue
            style = (block.style.name if block.style is not None else "") or ""
            lines.append(f"## {text}" if style.lower().startswith(("heading", "title", "标题")) else text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip().replace("\n", " ") for c in row.cells]
                if any(cells):
                    lines.append("| " + " | ".join(cells) + " |")
    title = (d.core_properties.title or "").strip()
    if not title and lines and lines[0].startswith("## "):
        title = lines[0][3:]
    return page_document(path, root, title, "\n".join(lines), "no extractable text")
