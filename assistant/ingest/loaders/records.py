"""Structured records → Documents: service guides (办事指南) and FAQ pairs, from JSON, JSONL or YAML.

A record is a guide when it has a name (``name`` / ``事项名称``), an FAQ when it has an answer
(``answer`` / ``答案``), and an error otherwise. English and Chinese keys are both accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ...errors import LoaderError
from ...types import Document, Section
from .common import as_list, clean_str, derived_id, normalize_date, normalize_status, read_text, safe_id
from .limits import check_shape, safe_yaml

# canonical key -> accepted spellings (the canonical key itself is always accepted)
GUIDE_KEYS: dict[str, tuple[str, ...]] = {
    "id": ("编号",),
    "name": ("事项名称", "title", "标题"),
    "department": ("实施主体", "实施部门", "部门", "办理部门"),
    "region": ("地区", "区域", "行政区划"),
    "item_type": ("事项类型", "type_name"),
    "conditions": ("受理条件", "申请条件", "受理标准"),
    "materials": ("申请材料", "所需材料", "材料"),
    "process": ("办理流程", "流程"),
    "legal_time_limit": ("法定时限", "法定办结时限"),
    "promised_time_limit": ("承诺时限", "承诺办结时限"),
    "fees": ("收费", "收费标准", "是否收费"),
    "location": ("办理地点", "地点"),
    "hours": ("办理时间",),
    "consult_phone": ("咨询电话", "咨询方式"),
    "complaint_phone": ("投诉电话", "监督投诉"),
    "online_url": ("在线办理链接", "网上办理", "在线办理"),
    "basis": ("设定依据", "法律依据"),
    "aliases": ("俗称", "简称", "别名"),
    "updated": ("更新日期", "更新时间", "updated_at"),
    "url": ("来源", "链接", "source_url"),
    "status": ("状态", "时效性"),
}
FAQ_KEYS: dict[str, tuple[str, ...]] = {
    "id": ("编号",),
    "question": ("问题", "提问"),
    "answer": ("答案", "回答", "解答"),
    "title": ("标题",),
    "department": ("部门",),
    "region": ("地区",),
    "url": ("来源", "链接"),
    "publish_date": ("发布日期", "date", "updated"),
}

# (kind, heading, [(field, label)]) in display order
GUIDE_GROUPS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("conditions", "受理条件", (("conditions", ""),)),
    ("materials", "申请材料", (("materials", ""),)),
    ("process", "办理流程", (("process", ""),)),
    (
        "time_fees",
        "办理时限与收费",
        (("legal_time_limit", "法定办结时限"), ("promised_time_limit", "承诺办结时限"), ("fees", "收费标准")),
    ),
    (
        "place_contact",
        "办理地点与联系方式",
        (
            ("location", "办理地点"),
            ("hours", "办理时间"),
            ("consult_phone", "咨询电话"),
            ("complaint_phone", "投诉电话"),
            ("online_url", "在线办理"),
        ),
    ),
    ("basis", "设定依据", (("basis", ""),)),
)


def canonical(record: dict[str, Any], keys: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Rename accepted spellings to canonical keys; unknown keys are kept as they are."""
    lookup = {alias: key for key, aliases in keys.items() for alias in aliases}
    out: dict[str, Any] = {}
    for k, v in record.items():
        key = lookup.get(k, k)
        if key == "aliases" and key in out:  # 俗称 and 简称 both present: merge
            out[key] = as_list(out[key]) + as_list(v)
        elif key not in out or out[key] in (None, "", [], "无"):
            out[key] = v
    return out


def _format_value(field: str, value: Any) -> str:
    if field == "materials":
        items = as_list(value) if isinstance(value, list) else [clean_str(value)] if clean_str(value) else []
        return "\n".join(f"{i}. {m}" for i, m in enumerate(items, 1)) if len(items) > 1 else "".join(items)
    return clean_str(value)


def guide_sections(fields: dict[str, Any]) -> list[Section]:
    """One Section per field group that has at least one non-empty field."""
    sections = []
    for kind, heading, members in GUIDE_GROUPS:
        lines = []
        for field, label in members:
            text = _format_value(field, fields.get(field))
            if text:
                lines.append(f"{label}：{text}" if label else text)
        if lines:
            sections.append(Section(heading=heading, text="\n".join(lines), kind=kind))
    return sections


def guide_document(record: dict[str, Any], rel: Path, index: int | None) -> Document:
    """Build a guide Document; ``fields`` keeps the canonical structured fields for service cards."""
    f = canonical(record, GUIDE_KEYS)
    name = clean_str(f.get("name"))
    if not name:
        raise ValueError("guide without a name")
    aliases = [a for a in as_list(f.get("aliases")) if a != name]
    f["aliases"] = list(dict.fromkeys(aliases))
    if isinstance(f.get("materials"), str):
        f["materials"] = as_list(f["materials"]) if "\n" in f["materials"] else [clean_str(f["materials"])]
    f["materials"] = as_list(f.get("materials"))
    fields = {k: v for k, v in f.items() if v not in (None, "", [], "无")}
    sections = guide_sections(fields)
    text = "\n\n".join(f"{s.heading}\n{s.text}" for s in sections)
    return Document(
        id=safe_id(f["id"]) if f.get("id") else derived_id(rel, index),
        title=name,
        type="guide",
        text=f"{name}\n\n{text}".strip(),
        source=rel.as_posix(),
        department=clean_str(f.get("department")),
        region=clean_str(f.get("region")),
        publish_date=normalize_date(f.get("updated")),
        status=normalize_status(f.get("status")),
        url=clean_str(f.get("url")) or clean_str(f.get("online_url")),
        aliases=f["aliases"],
        sections=sections,
        fields=fields,
    )


def faq_document(record: dict[str, Any], rel: Path, index: int | None) -> Document:
    """Build an FAQ Document: one question/answer pair (the question may be empty)."""
    f = canonical(record, FAQ_KEYS)
    answer = clean_str(f.get("answer")) if f.get("answer") != "无" else "无"
    if not answer:
        raise ValueError("FAQ record with an empty answer")
    question = clean_str(f.get("question"))
    title = clean_str(f.get("title")) or question or answer[:30]
    return Document(
        id=safe_id(f["id"]) if f.get("id") else derived_id(rel, index),
        title=title,
        type="faq",
        text=f"{question}\n{answer}" if question else answer,
        source=rel.as_posix(),
        department=clean_str(f.get("department")),
        region=clean_str(f.get("region")),
        publish_date=normalize_date(f.get("publish_date")),
        status=normalize_status(f.get("status")),
        url=clean_str(f.get("url")),
        sections=[Section(heading=question, text=answer, kind="faq")],
        fields={"question": question, "answer": answer},
    )


def record_document(record: Any, rel: Path, index: int | None) -> Document:
    """Dispatch one record to the guide or FAQ builder."""
    if not isinstance(record, dict):
        raise ValueError(f"record is a {type(record).__name__}, not an object")
    if any(k in record for k in ("name", *GUIDE_KEYS["name"][:1])):
        return guide_document(record, rel, index)
    if any(k in record for k in ("answer", *FAQ_KEYS["answer"])):
        return faq_document(record, rel, index)
    raise ValueError("record is neither a guide (needs name/事项名称) nor an FAQ (needs answer)")


def _documents(records: Iterable[tuple[int, Any]], path: Path, rel: Path, many: bool) -> list[Document]:
    docs = []
    for i, rec in records:
        try:
            docs.append(record_document(rec, rel, i if many else None))
        except ValueError as exc:
            where = f"record {i + 1}" if many else "record"
            raise LoaderError(str(path), f"{where}: {exc}") from exc
    return docs


def load_json(path: Path, root: Path) -> list[Document]:
    """A JSON object (one record) or a list of records."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise LoaderError(str(path), f"invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise LoaderError(str(path), "invalid JSON: nested too deeply") from exc
    check_shape(data, path)
    rel = path.relative_to(root)
    if isinstance(data, list):
        return _documents(enumerate(data), path, rel, True)
    return _documents([(0, data)], path, rel, False)


def load_jsonl(path: Path, root: Path) -> list[Document]:
    """JSON Lines, one record a line; blank lines are skipped, a bad line fails the file."""
    records: list[tuple[int, Any]] = []
    for n, line in enumerate(read_text(path).splitlines()):
        if not line.strip():
            continue
        try:
            records.append((len(records), json.loads(line)))
        except json.JSONDecodeError as exc:
            raise LoaderError(str(path), f"line {n + 1}: invalid JSON: {exc.msg}") from exc
        except RecursionError as exc:
            raise LoaderError(str(path), f"line {n + 1}: invalid JSON: nested too deeply") from exc
        check_shape(records[-1][1], path)
    return _documents(records, path, path.relative_to(root), True)


def load_yaml(path: Path, root: Path) -> list[Document]:
    """A YAML mapping (one record) or a list of records."""
    try:
        data = safe_yaml(read_text(path))
    except yaml.YAMLError as exc:
        raise LoaderError(str(path), f"invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise LoaderError(str(path), "invalid YAML: nested too deeply") from exc
    check_shape(data, path)
    if data is None:
        raise LoaderError(str(path), "empty YAML file")
    rel = path.relative_to(root)
    if isinstance(data, list):
        return _documents(enumerate(data), path, rel, True)
    return _documents([(0, data)], path, rel, False)
