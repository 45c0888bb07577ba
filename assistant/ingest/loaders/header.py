"""The header of an official document (公文) from its plain text: 文号, title and date.

Text PDFs, OCR'd scans, OFD and Word files often carry no usable metadata, but a 公文 states its
identity in fixed places: the 文号 (``京政发〔2024〕12号``) under the red header, the title (``关于…的
通知``) above the body, and the date of issue (成文日期) at the foot, in Arabic or Chinese numerals
(``二〇二四年三月一日``). These rules read them; anything not found stays empty.

Shortcut: heuristics on the first lines and the last date, not a layout model; a title split over
more than three lines, or a 文号 without its year brackets, is missed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...types import Document
from .common import normalize_date
from .html import page_document

_DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fa5A-Za-z]{1,16}\s*[〔\[［【(（]\s*(?:19|20)\d{2}\s*[〕\]］】)）]\s*(?:第\s*)?\d{1,5}\s*号"
)
_TITLE_END = re.compile(
    r"(通知|通告|公告|办法|意见|规定|决定|方案|细则|规则|批复|函|报告|指南|条例|规划|纲要|须知|说明|标准|目录|清单|"
    r"公示|告知书|决议|命令|令)$"
)
_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS.update({"六": 6, "七": 7, "八": 8, "九": 9})
_CN_DATE = re.compile(
    r"([〇零○Ｏ一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日"
)
_DATE = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")


@dataclass
class Header:
    title: str = ""
    doc_number: str = ""
    publish_date: str = ""


def _cn_number(text: str) -> int:
    """一 … 三十一 → 1 … 31."""
    if "十" not in text:
        return _CN_DIGITS.get(text, 0)
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS.get(tens, 0) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)


def _dates(text: str) -> list[tuple[int, str]]:
    found = [(m.start(), normalize_date(m.group(0))) for m in _DATE.finditer(text)]
    for m in _CN_DATE.finditer(text):
        year = "".join(str(_CN_DIGITS.get(c, 0)) for c in m.group(1))
        found.append(
            (m.start(), normalize_date(f"{year}年{_cn_number(m.group(2))}月{_cn_number(m.group(3))}日"))
        )
    return sorted((pos, iso) for pos, iso in found if iso)


def _title(lines: list[str]) -> str:
    """The first run of up to three short lines that reads as a 公文 title (starts 关于 or ends 通知…)."""
    for i, line in enumerate(lines[:15]):
        if _DOC_NUMBER.search(line) or len(line) > 60:
            continue
        if line.startswith("关于") or _TITLE_END.search(line):
            parts = [line]
            for nxt in lines[i + 1 : i + 3]:
                if _TITLE_END.search(parts[-1]) or len(nxt) > 40 or _DOC_NUMBER.search(nxt):
                    break
                parts.append(nxt)
            title = "".join(parts)
            return title if _TITLE_END.search(title) or title.startswith("关于") else ""
    return ""


def _clean_number(raw: str) -> str:
    """``京政办发[2026】 15号`` → ``京政办发〔2026〕15号`` (OCR mixes bracket shapes)."""
    return re.sub(r"[\[［【(（]", "〔", re.sub(r"[\]］】)）]", "〕", re.sub(r"\s+", "", raw)))


def read_header(text: str) -> Header:
    """文号 and title from the first lines, date of issue from the last full date in the text."""
    # Word headings arrive as Markdown "## " lines (office.py); the marker is not part of a title
    lines = [ln.strip().lstrip("#").strip() for ln in text.splitlines() if ln.strip().lstrip("#").strip()]
    head = "\n".join(lines[:20])
    number = _DOC_NUMBER.search(head)
    dates = _dates(text)
    return Header(
        title=_title(lines),
        doc_number=_clean_number(number.group(0)) if number else "",
        publish_date=dates[-1][1] if dates else "",
    )


def official_document(
    path: Path,
    root: Path,
    title: str,
    text: str,
    empty: str,
    fields: dict[str, Any] | None = None,
    header_text: str | None = None,
) -> list[Document]:
    """``page_document`` for a 公文-like file (PDF, scan, OFD, Word): 文号, title and date from its header.

    A title found in the text wins over ``title`` (file metadata is often "Microsoft Word - 1.doc");
    ``header_text`` is the text with its original line breaks when ``text`` had wrapped lines joined.
    ``fields`` (e.g. OCR confidences) are kept on the Document and copied onto its chunks' metadata.
    """
    header = read_header(text if header_text is None else header_text)
    [doc] = page_document(path, root, header.title or title, text, empty)
    doc.doc_number = doc.doc_number or header.doc_number
    doc.publish_date = doc.publish_date or header.publish_date
    if fields:
        doc.fields.update(fields)
    return [doc]
