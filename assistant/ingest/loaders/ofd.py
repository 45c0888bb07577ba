"""OFD (``.ofd``, GB/T 33190, the national format many 公文 and e-invoices are issued in) → a Document.

An OFD file is a zip: ``OFD.xml`` names the document root (``Doc_0/Document.xml``) and carries
DocInfo (Title, CreationDate); ``Document.xml`` lists the pages; each page's ``Content.xml`` holds
``TextObject`` elements (a ``Boundary`` box and a font ``Size``) with ``TextCode`` runs at X/Y offsets.
Runs are laid out as positioned lines and put in reading order and paragraphs like OCR output
(``ocr.page_text``); 文号, title and date are then read from the header (``header.py``).

Shortcut: text only — no fonts' glyph maps (a TextCode in a subset font without its Unicode text
is lost), no annotations, attachments or signatures; members over ``MAX_MEMBER_BYTES`` are refused.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from ...errors import LoaderError
from ...types import Document
from ..ocr import OcrLine, page_text
from .header import official_document

MAX_MEMBER_BYTES = 32 * 1024 * 1024
MAX_PAGES = 2000


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in el.iter() if _local(e.tag) == name]


def _read(zf: zipfile.ZipFile, name: str, path: Path) -> ET.Element:
    name = name.lstrip("/")
    try:
        info = zf.getinfo(name)
    except KeyError as exc:
        raise LoaderError(str(path), f"OFD member {name} is missing") from exc
    if info.file_size > MAX_MEMBER_BYTES:
        raise LoaderError(str(path), f"OFD member {name} is over {MAX_MEMBER_BYTES // 2**20} MB")
    try:
        return ET.fromstring(zf.read(info))
    except ET.ParseError as exc:
        raise LoaderError(str(path), f"OFD member {name} is not XML: {exc}") from exc


def _floats(value: str | None, n: int) -> list[float]:
    parts = [float(x) for x in (value or "").split()[:n] if x.replace(".", "", 1).lstrip("-").isdigit()]
    return parts + [0.0] * (n - len(parts))


def _page_lines(content: ET.Element) -> list[OcrLine]:
    lines = []
    for obj in _children(content, "TextObject"):
        bx, by, _, bh = _floats(obj.get("Boundary"), 4)
        size = _floats(obj.get("Size"), 1)[0] or bh or 3.5
        for code in _children(obj, "TextCode"):
            text = (code.text or "").strip()
            if not text:
                continue
            x = bx + _floats(code.get("X"), 1)[0]
            y = by + _floats(code.get("Y"), 1)[0]  # the baseline
            lines.append(OcrLine(text, 1.0, (x, y - size, x + size * len(text), y)))
    return lines


def _resolve(base: str, loc: str) -> str:
    return loc.lstrip("/") if loc.startswith("/") else posixpath.normpath(posixpath.join(base, loc))


def load_ofd(path: Path, root: Path) -> list[Document]:
    """Text of every page in order, title from DocInfo or the header, date of issue from the text."""
    try:
        zf = zipfile.ZipFile(str(path))
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoaderError(str(path), f"unreadable OFD (not a zip): {exc}") from exc
    with zf:
        ofd = _read(zf, "OFD.xml", path)
        roots = _children(ofd, "DocRoot")
        if not roots or not (roots[0].text or "").strip():
            raise LoaderError(str(path), "OFD.xml names no DocRoot")
        doc_path = _resolve("", roots[0].text.strip())  # type: ignore[union-attr]
        document = _read(zf, doc_path, path)
        base = posixpath.dirname(doc_path)
        pages = [p.get("BaseLoc", "") for p in _children(document, "Page")][:MAX_PAGES]
        texts = [page_text(_page_lines(_read(zf, _resolve(base, loc), path))) for loc in pages if loc]
        titles = [t.text.strip() for t in _children(ofd, "Title") if t.text and t.text.strip()]
        created = [t.text.strip() for t in _children(ofd, "CreationDate") if t.text]
    docs = official_document(
        path, root, titles[0] if titles else "", "\n".join(t for t in texts if t), "no text in the OFD pages"
    )
    if created and not docs[0].publish_date:
        from .common import normalize_date

        docs[0].publish_date = normalize_date(created[0])
    return docs
