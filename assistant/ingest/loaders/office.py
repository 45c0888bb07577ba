"""PDF (pypdf text, pdfplumber tables, OCR of pages without a text layer) and Word .docx loaders."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import LoaderError
from ...types import Document
from .header import official_document
from .html import clean_lines

# pypdf splits Chinese lines mid-sentence; join lines that do not end a sentence (table rows stay)
_WRAPPED = re.compile(r"(?<![。！？；：:.!?;|])\n(?![（(]?[一二三四五六七八九十\d]+[、.．)）]|第|\|)")
_MIN_TEXT_LAYER = 5  # characters; a page with fewer is treated as a scan


def table_lines(rows: list[list[Any]]) -> list[str]:
    """Table rows (first row the header) as ``| a | b |`` lines; empty rows dropped."""
    out = []
    for row in rows:
        cells = [re.sub(r"\s+", " ", str(c if c is not None else "")).strip() for c in row]
        if any(cells):
            out.append("| " + " | ".join(cells) + " |")
    return out


def _pdf_tables(path: Path) -> dict[int, str]:
    """Page index → page text with its ruled tables as rows (pdfplumber); only pages that have tables.

    Text between tables comes from the crop above each table, so tables stay in reading order.
    Without pdfplumber, or when it cannot parse the file, pages keep pypdf's plain text.
    """
    try:
        import pdfplumber
    except ImportError:
        return {}
    out: dict[int, str] = {}
    try:
        with pdfplumber.open(str(path)) as pdf:
            for i, page in enumerate(pdf.pages):
                tables = sorted(page.find_tables(), key=lambda t: t.bbox[1])
                if not tables:
                    continue
                parts: list[str] = []
                top = page.bbox[1]
                for t in tables:
                    if t.bbox[1] > top:
                        parts.append(
                            page.crop((page.bbox[0], top, page.bbox[2], t.bbox[1])).extract_text() or ""
                        )
                    parts.append("\n".join(table_lines(t.extract())))
                    top = t.bbox[3]
                if top < page.bbox[3]:
                    parts.append(
                        page.crop((page.bbox[0], top, page.bbox[2], page.bbox[3])).extract_text() or ""
                    )
                out[i] = "\n".join(p for p in parts if p.strip())
    except Exception:  # a table pass is a bonus; the text pass decides whether the file loads
        return {}
    return out


def load_pdf(path: Path, root: Path) -> list[Document]:
    """Text of every page, ruled tables as rows, pages without a text layer OCR'd (``ocr.py``).

    文号, title and date come from the first page's header (``header.py``), else the PDF title
    metadata or the file name; OCR confidences per page go to the Document's ``ocr`` field.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        pages = [p.extract_text() or "" for p in reader.pages]
        meta = reader.metadata
        title = str(meta.get("/Title") or "").strip() if meta is not None else ""
    except (OSError, ValueError, PyPdfError) as exc:
        raise LoaderError(str(path), f"unreadable PDF: {exc}") from exc
    pages = [clean_lines(p) for p in pages]
    for i, text in _pdf_tables(path).items():
        pages[i] = clean_lines(text)
    joined = [_WRAPPED.sub("", p) for p in pages]
    fields: dict[str, Any] = {}
    scans = [i for i, p in enumerate(pages) if len(p.strip()) < _MIN_TEXT_LAYER]
    if scans:
        from .scans import ocr_pdf

        result, fields = ocr_pdf(path, scans)
        for i in scans:
            pages[i] = joined[i] = result.texts.get(i + 1, "")
    return official_document(
        path, root, title, "\n".join(p for p in joined if p), "no extractable text", fields, "\n".join(pages)
    )


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
            lines.extend(table_lines([[c.text for c in row.cells] for row in block.rows]))
    title = (d.core_properties.title or "").strip()
    if not title and lines and lines[0].startswith("## "):
        title = lines[0][3:]
    return official_document(path, root, title, "\n".join(lines), "no extractable text")
