"""Service cards: the structured 办事指南 answer (申请条件, 所需材料, 办理时限, 地点, 电话, …).

Fields come from the guide's canonical ``fields`` (``chunk.metadata["fields"]`` when ingestion
copies them) or, failing that, are parsed back from the guide's section chunks, whose layout the
guide loader fixes ("办理地点：…" lines, numbered material lists). Only fields the source has appear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from assistant.types import Card, CardField, Chunk

# card key, label, canonical source fields (joined when several are present)
CARD_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("conditions", "申请条件", ("conditions",)),
    ("materials", "所需材料", ("materials",)),
    ("process", "办理流程", ("process",)),
    ("time_limit", "办理时限", ("legal_time_limit", "promised_time_limit", "time_limit")),
    ("fees", "收费", ("fees",)),
    ("location", "办理地点", ("location",)),
    ("hours", "办理时间", ("hours",)),
    ("phone", "咨询电话", ("consult_phone", "phone")),
    ("online_url", "在线办理链接", ("online_url",)),
    ("basis", "设定依据", ("basis",)),
)
_TIME_LABELS = {"legal_time_limit": "法定办结时限", "promised_time_limit": "承诺办结时限"}

# "label：value" lines inside the grouped guide sections -> canonical field
_LINE_LABELS = {
    "法定办结时限": "legal_time_limit",
    "承诺办结时限": "promised_time_limit",
    "收费标准": "fees",
    "办理地点": "location",
    "办理时间": "hours",
    "咨询电话": "consult_phone",
    "投诉电话": "complaint_phone",
    "在线办理": "online_url",
}
_SECTION_FIELD = {
    "conditions": "conditions",
    "materials": "materials",
    "process": "process",
    "basis": "basis",
}
_HEADINGS = frozenset(
    {"受理条件", "申请条件", "申请材料", "办理流程", "办理时限与收费", "办理地点与联系方式", "设定依据"}
)
_NUMBERED = re.compile(r"^\s*\d{1,3}[.、．)]\s*")


def _as_items(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    lines = [ln.strip() for ln in str(value or "").splitlines() if ln.strip()]
    return [_NUMBERED.sub("", ln) for ln in lines]


def fields_from_chunks(chunks: Sequence[Chunk]) -> dict[str, Any]:
    """Canonical guide fields parsed from a guide's section chunks (any order, duplicates ignored)."""
    fields: dict[str, Any] = {}
    for c in chunks:
        kind = c.kind or ""
        text = c.text.strip()
        # A chunk may start with its section heading; drop it.
        # (the chunker writes "<item name> · <heading>").
        first, _, rest = text.partition("\n")
        head = first.strip().rpartition(" · ")[2]
        if head in _HEADINGS or (c.section and head == c.section):
            text = rest.strip()
        if kind in _SECTION_FIELD:
            key = _SECTION_FIELD[kind]
            if key == "materials":
                fields.setdefault(key, [])
                for item in _as_items(text):
                    if item not in fields[key]:
                        fields[key].append(item)
            elif key not in fields:
                fields[key] = text
            continue
        for line in text.splitlines():
            label, sep, value = line.partition("：")
            if sep and label.strip() in _LINE_LABELS and value.strip():
                fields.setdefault(_LINE_LABELS[label.strip()], value.strip())
    return fields


def build_card(meta: Mapping[str, Any], fields: Mapping[str, Any], title: str = "") -> Card:
    """A card with the fields the guide has, in the standard order."""
    rows: list[CardField] = []
    for key, label, sources in CARD_FIELDS:
        present = [(s, fields[s]) for s in sources if fields.get(s) not in (None, "", [], "无")]
        if not present:
            continue
        if key == "materials":
            rows.append(CardField(key, label, items=_as_items(present[0][1])))
        elif key == "time_limit" and len(present) > 1:
            value = "；".join(f"{_TIME_LABELS.get(s, label)}：{v}" for s, v in present)
            rows.append(CardField(key, label, value=value))
        else:
            rows.append(CardField(key, label, value=str(present[0][1]).strip()))
    phone = next((r.value for r in rows if r.key == "phone"), "")
    url = next((r.value for r in rows if r.key == "online_url"), "")
    return Card(
        title=title or str(meta.get("title", "") or ""),
        doc_id=str(meta.get("doc_id", "") or ""),
        department=str(meta.get("department", "") or ""),
        region=str(meta.get("region", "") or ""),
        fields=rows,
        online_url=url,
        phone=phone,
    )


# Which card rows a question is about (checked in order; empty: an overview).
ASPECTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "materials",
        re.compile(
            r"材料|资料|证件|带什么|带哪些|带啥|准备什么|准备啥|准备哪些|提交什么|提供什么|交什么|交啥|要啥"
        ),
    ),
    ("location", re.compile(r"哪里|哪儿|地点|地址|什么地方|窗口|在哪|去哪|到哪|哪办|哪补|哪开|找哪")),
    ("hours", re.compile(r"几点|上班时间|办公时间|办理时间|周末")),
    ("time_limit", re.compile(r"多久|多长时间|几天|时限|多少天|工作日|办结|几个月|多长|什么时候|最晚|提前")),
    (
        "fees",
        re.compile(r"收费|费用|多少钱|要钱|免费|交钱|几折|补多少|贴多少|发多少|每个月多少|每月多少|给多少"),
    ),
    ("phone", re.compile(r"电话|热线|联系")),
    ("conditions", re.compile(r"条件|资格|符合|能不能|可不可以|能否|谁可以|几岁|年龄|要求|满足|够不够")),
    ("process", re.compile(r"流程|步骤|程序|怎么办|如何办|怎样办|怎么申请|如何申请|怎么弄|咋办")),
    ("online_url", re.compile(r"网上|在线|网址|链接|网站|app|小程序|手机上", re.I)),
)
OVERVIEW = ("conditions", "materials", "time_limit", "fees", "location", "phone")


def question_aspects(question: str) -> list[str]:
    """The card keys a question asks about, in ``ASPECTS`` order."""
    return [key for key, pat in ASPECTS if pat.search(question)]


def card_text(card: Card, question: str, max_value_chars: int = 160) -> list[str]:
    """Answer lines for a card, values verbatim: the rows the question asks about first, then the
    overview rows it did not ask about (the asked row may be a bare "无线下办理窗口" while the answer
    sits in 申请条件). A question about nothing in particular, or how to do it (X怎么办理), gets the
    overview: conditions, materials, time limit, fees, place, phone — and the process when the guide
    has one."""
    asked = question_aspects(question)
    by_key = {f.key: f for f in card.fields}
    if not asked or asked == ["process"]:
        first = [k for k in (*OVERVIEW, "process") if k in by_key]
    else:
        first = [k for k in asked if k in by_key]
    keys = first + [k for k in OVERVIEW if k in by_key and k not in first]
    lines: list[str] = []
    for k in keys:
        f = by_key[k]
        if f.items:
            items = "；".join(f"{i}. {m}" for i, m in enumerate(f.items, 1))
            lines.append(f"{f.label}：{items}。")
        else:
            value = f.value if len(f.value) <= max_value_chars else f.value[:max_value_chars] + "…"
            lines.append(f"{f.label}：{value.rstrip('。')}。")
    return lines
