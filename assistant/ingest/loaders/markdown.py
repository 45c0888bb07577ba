"""Markdown (policies and laws with YAML front matter, or plain pages) and plain-text loaders."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import LoaderError
from ...types import Document, Section
from .common import (
    as_list,
    clean_str,
    derived_id,
    normalize_date,
    normalize_status,
    read_text,
    safe_id,
    split_front_matter,
)

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_CN_HEADING = re.compile(r"^第[一二三四五六七八九十百零〇\d]+[编章节](\s|$)")

FRONT_KEYS: dict[str, tuple[str, ...]] = {
    "title": ("标题", "name"),
    "doc_number": ("文号", "doc_no", "number"),
    "issuer": ("发布机关", "发文机关", "制定机关"),
    "publish_date": ("发布日期", "公布日期", "date"),
    "effective_date": ("施行日期", "生效日期"),
    "expiry_date": ("失效日期", "有效期至"),
    "status": ("时效性", "状态"),
    "region": ("地区", "区域"),
    "department": ("部门",),
    "type": ("类型",),
    "url": ("链接", "来源", "source_url"),
    "aliases": ("俗称", "简称"),
}
_TYPES = {t: t for t in ("policy", "law", "page", "guide", "faq")} | {
    "政策": "policy",
    "法规": "law",
    "法律": "law",
}


def sections_from_headings(text: str) -> list[Section]:
    """Split text at Markdown headings (and 第X章/节/编 lines); text before the first heading is a Section too."""
    sections: list[Section] = []
    heading, lines = "", []  # type: tuple[str, list[str]]

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            kind = (
                "chapter" if re.search(r"第[一二三四五六七八九十百零〇\d]+[编章节]", heading) else "section"
            )
            sections.append(Section(heading=heading, text=body, kind=kind))

    for line in text.splitlines():
        m = _HEADING.match(line)
        if m or _CN_HEADING.match(line.strip()):
            flush()
            heading, lines = (m.group(2) if m else line.strip()), []
        else:
            lines.append(line)
    flush()
    return sections


def _canonical(meta: dict[str, Any]) -> dict[str, Any]:
    lookup = {a: k for k, aliases in FRONT_KEYS.items() for a in aliases}
    out: dict[str, Any] = {}
    for k, v in meta.items():
        out.setdefault(lookup.get(str(k), str(k)), v)
    return out


def _strip_title_heading(body: str, title: str) -> tuple[str, str]:
    """Remove a leading '# title' line; return (title, body). The first '# ' heading names untitled files."""
    lines = body.lstrip("\n").splitlines()
    if lines and lines[0].startswith("# "):
        heading = lines[0][2:].strip()
        if not title or heading == title:
            return title or heading, "\n".join(lines[1:]).strip()
    return title, body.strip()


def load_markdown(path: Path, root: Path) -> list[Document]:
    """Markdown with optional front matter → one policy / law / page Document."""
    meta, body = split_front_matter(read_text(path), path)
    meta = _canonical(meta)
    title, body = _strip_title_heading(body, clean_str(meta.get("title")))
    rel = path.relative_to(root)
    if not body.strip():
        raise LoaderError(str(path), "document has no body text")
    doc_type = str(_TYPES.get(str(meta.get("type", "")).strip(), "") or ("policy" if meta else "page"))
    return [
        Document(
            id=safe_id(meta["id"]) if meta.get("id") else derived_id(rel),
            title=title or path.stem,
            type=doc_type,
            text=body,
            source=rel.as_posix(),
            department=clean_str(meta.get("department")),
            region=clean_str(meta.get("region")),
            doc_number=clean_str(meta.get("doc_number")),
            issuer=clean_str(meta.get("issuer")),
            publish_date=normalize_date(meta.get("publish_date")),
            effective_date=normalize_date(meta.get("effective_date")),
            expiry_date=normalize_date(meta.get("expiry_date")),
            status=normalize_status(meta.get("status")),
            url=clean_str(meta.get("url")),
            aliases=as_list(meta.get("aliases")),
            sections=sections_from_headings(body),
            fields={k: v for k, v in meta.items() if k not in FRONT_KEYS and k != "id"},
        )
    ]


def load_text(path: Path, root: Path) -> list[Document]:
    """A .txt file → one page Document titled by its first line (when short) or its file name."""
    text = read_text(path).strip()
    if not text:
        raise LoaderError(str(path), "empty text file")
    first = text.splitlines()[0].strip()
    rel = path.relative_to(root)
    return [
        Document(
            id=derived_id(rel),
            title=first if len(first) <= 40 else path.stem,
            type="page",
            text=text,
            source=rel.as_posix(),
            sections=sections_from_headings(text),
        )
    ]
