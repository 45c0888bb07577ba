"""Helpers shared by the loaders: date and status normalisation, stable ids, front matter, text reading."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

import yaml

from ...errors import LoaderError
from ...types import STATUS_CURRENT, STATUS_REPEALED, STATUS_REVISED
from .limits import check_shape, safe_yaml

_DATE_CN = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
_DATE_NUM = re.compile(r"(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")

_STATUS_ALIASES = {
    "现行有效": STATUS_CURRENT,
    "有效": STATUS_CURRENT,
    "现行": STATUS_CURRENT,
    "current": STATUS_CURRENT,
    "valid": STATUS_CURRENT,
    "已修订": STATUS_REVISED,
    "已修改": STATUS_REVISED,
    "修订": STATUS_REVISED,
    "revised": STATUS_REVISED,
    "已废止": STATUS_REPEALED,
    "废止": STATUS_REPEALED,
    "失效": STATUS_REPEALED,
    "已失效": STATUS_REPEALED,
    "repealed": STATUS_REPEALED,
    "expired": STATUS_REPEALED,
}


def normalize_date(value: Any) -> str:
    """Any date-like value ('2024年7月29日', '2024/7/29', a date object) → 'yyyy-mm-dd'; '' when unparseable.

    A month without a day becomes the first of that month.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value).strip()
    m = _DATE_CN.search(text) or _DATE_NUM.search(text) or _DATE_COMPACT.match(text)
    if not m:
        return ""
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return ""


def normalize_status(value: Any) -> str:
    """Map status spellings onto 现行有效 / 已修订 / 已废止 (unknown or empty → 现行有效)."""
    text = str(value or "").strip()
    return (
        _STATUS_ALIASES.get(text.lower(), _STATUS_ALIASES.get(text, STATUS_CURRENT))
        if text
        else STATUS_CURRENT
    )


def as_list(value: Any) -> list[str]:
    """A list of non-empty strings from a list, or from a string split on 、，,；; and newlines."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else re.split(r"[、，,；;\n]+", str(value))
    return [str(v).strip() for v in items if str(v).strip() and str(v).strip() != "无"]


def clean_str(value: Any) -> str:
    """A stripped string; None, lists of nothing and the placeholder '无' become ''."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "、".join(as_list(value))
    text = str(value).strip()
    return "" if text in {"无", "null", "None"} else text


_ID_UNSAFE = re.compile(r"[\s#/\\?]+")


def derived_id(rel: Path, index: int | None = None) -> str:
    """Stable id from a path relative to the knowledge root (and a record index for multi-record files)."""
    base = _ID_UNSAFE.sub("-", rel.with_suffix("").as_posix()).strip("-")
    return base if index is None else f"{base}-{index}"


def safe_id(value: Any) -> str:
    """A given id with characters that would clash with chunk ids ('#', '/', spaces) replaced."""
    return _ID_UNSAFE.sub("-", str(value).strip()).strip("-")


def read_text(path: Path) -> str:
    """Read UTF-8 text (with or without BOM), raising LoaderError on failure."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LoaderError(str(path), f"cannot read as UTF-8 text: {exc}") from exc


_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """Split a Markdown file into (YAML front matter dict, body); no front matter → ({}, text)."""
    m = _FRONT.match(text)
    if not m:
        return {}, text
    try:
        meta = safe_yaml(m.group(1)) or {}
    except (yaml.YAMLError, RecursionError) as exc:
        raise LoaderError(str(path), f"invalid YAML front matter: {exc}") from exc
    check_shape(meta, path)
    if not isinstance(meta, dict):
        raise LoaderError(str(path), "front matter is not a mapping")
    return meta, text[m.end() :]
