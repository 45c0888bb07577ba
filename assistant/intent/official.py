"""Official-wording training rows for the intent model, derived from data the repository already has.

The colloquial training set teaches what a citizen's case sounds like ("帮我查下我的社保卡到哪了"); on
its own it also teaches that any "查询" + "我的"/"个人" is a case, so official FAQ wording such as
"参保人员如何查询个人账户资金情况？" (a rule question: *how does one* look it up) went to a person.
These rows add that wording as ``question`` and its first-person counterpart as ``case``:

- **Beijing official Q&A of the intent-training departments** (``TRAIN_DEPARTMENTS``; at most
  ``PER_DEPARTMENT`` rows each, chosen by a hash of the id). The other departments of
  ``beijing_qa_dev.jsonl`` (医保局, 住房公积金管理中心 and the small ones) are kept out, so the
  Beijing evaluation on them measures how the model generalises to departments it never saw — as
  the held-out acceptance departments will be.
- **Knowledge-base guides**: the names of 查询 items as how-to questions ("如何查询X", "X在哪里查"),
  other items as rule questions ("X需要什么条件"), and — on a disjoint set of items — first-person
  progress messages about them ("帮我查一下我的X到哪一步了", "我的X交了半个月了还没消息") as ``case``.
- **Policy and law titles** of the knowledge base as questions about them ("《T》有哪些规定").

Deterministic (hash order, fixed templates): ``python -m assistant.intent augment`` writes
``evals/datasets/intent_official_train.jsonl``; ``train`` reads it next to the colloquial set.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TRAIN_DEPARTMENTS: tuple[str, ...] = ("应急局", "体育局", "科委", "文物局", "药监局")
"""Beijing departments whose questions may train the intent model; the rest of the Beijing dev set is
evaluation only."""
PER_DEPARTMENT = 200
GUIDE_LOOKUPS = 140  # how-to questions about 查询 items
GUIDE_RULES = 90  # rule questions about other items
GUIDE_CASES = 140  # first-person progress messages (case) about other items
TITLES = 60

_LOOKUP_Q = (
    "如何查询{x}？",
    "{x}怎么查",
    "{x}在哪里可以查询",
    "请问{x}可以在网上查吗",
    "想查一下{x}，有什么渠道",
    "{x}的查询方式是什么",
    "个人怎样查询{x}",
    "{x}去哪查",
)
_RULE_Q = (
    "{x}需要什么条件？",
    "办理{x}要准备哪些材料",
    "{x}的办理流程是怎样的",
    "{x}多久能办好",
    "{x}在哪里办理",
    "申请{x}收费吗",
    "{x}可以网上办理吗",
    "{x}的办理进度在哪里查询",
)
_CASE = (
    "帮我查一下我的{x}到哪一步了",
    "我的{x}交上去半个月了还没消息 帮我看看",
    "我{x}的申请号是{n} 现在什么进度",
    "帮我看看我的{x}批下来没有",
    "我的{x}都一个多月了怎么还没办好",
    "我上周申请的{x} 审核到哪了",
    "麻烦帮我催一下我的{x} 等了二十多天了",
    "我的{x}显示待审核好几天了 是卡住了吗",
)
_TITLE_Q = (
    "《{t}》有哪些规定",
    "{t}是什么时候开始实施的",
    "《{t}》适用于哪些人",
    "{t}的主要内容是什么",
)
_PERSONAL = re.compile(
    r"申请|申领|登记|核发|认定|补贴|补助|换领|补领|补办|换发|办理|发放|签注|证|津贴|提取|转移|备案"
)
_PAREN = re.compile(r"[（(][^）)]*[）)]")
_SUFFIX = re.compile(r"(?:公证)?指引$|审批$|核发$|初审$|审核$|许可$|备案$|登记审查$")


def _rank(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def _clean(name: str) -> str:
    """A guide name as a person might say it: no bracketed variant, no 指引/审批/核发 tail."""
    name = _PAREN.sub("", name).replace("《", "").replace("》", "").strip().removeprefix("办理")
    return _SUFFIX.sub("", name) or name


def _row(i: str, text: str, intent: str, source: str, persona: str = "official") -> dict[str, Any]:
    return {
        "id": f"io-{i}",
        "question": text,
        "intent": intent,
        "persona": persona,
        "source": source,
        "should_handoff": intent != "question",
    }


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def beijing_rows(qa: Path) -> list[dict[str, Any]]:
    """Questions of ``TRAIN_DEPARTMENTS`` (at most ``PER_DEPARTMENT`` each, by hash of the id)."""
    by_dept: dict[str, list[dict[str, Any]]] = {}
    for r in _jsonl(qa):
        if r.get("department") in TRAIN_DEPARTMENTS and r["question"].strip():
            by_dept.setdefault(r["department"], []).append(r)
    out = []
    for dept in TRAIN_DEPARTMENTS:
        chosen = sorted(by_dept.get(dept, []), key=lambda r: _rank(r["id"]))[:PER_DEPARTMENT]
        out += [
            _row(f"bj-{r['id']}", r["question"].strip(), "question", "beijing_train_department")
            for r in chosen
        ]
    return out


def guide_rows(guides: Path) -> list[dict[str, Any]]:
    """How-to and rule questions (``question``) and progress messages (``case``) about guide items;
    the case items and the question items are disjoint."""
    names = sorted({_clean(r["name"]) for r in _jsonl(guides)}, key=_rank)
    names = [n for n in names if 3 <= len(n) <= 18]
    lookups = [n for n in names if n.endswith("查询")]
    others = [n for n in names if "查询" not in n]
    personal = [n for n in others[GUIDE_RULES:] if _PERSONAL.search(n)]  # things a person applies for
    out = []
    for k, n in enumerate(lookups[:GUIDE_LOOKUPS]):
        x = n[: -len("查询")] or n
        out.append(
            _row(f"lk-{k:03d}", _LOOKUP_Q[k % len(_LOOKUP_Q)].format(x=x), "question", "kb_guide_lookup")
        )
    for k, n in enumerate(others[:GUIDE_RULES]):
        out.append(_row(f"rq-{k:03d}", _RULE_Q[k % len(_RULE_Q)].format(x=n), "question", "kb_guide_rule"))
    for k, n in enumerate(personal[:GUIDE_CASES]):
        num = str(int(_rank(n)[:8], 16))[:10]
        text = _CASE[k % len(_CASE)].format(x=n, n=num)
        out.append(_row(f"cs-{k:03d}", text, "case", "kb_guide_case", persona="general"))
    return out


_TITLE_LINE = re.compile(r"^title:\s*['\"]?(.+?)['\"]?\s*$", re.M)


def title_rows(knowledge: Path) -> list[dict[str, Any]]:
    """Questions about policy and law titles (``question``)."""
    titles = []
    for path in sorted((knowledge / "policies").glob("*.md")) + sorted((knowledge / "laws").rglob("*.md")):
        m = _TITLE_LINE.search(path.read_text(encoding="utf-8")[:2000])
        if m and 4 <= len(m.group(1)) <= 40:
            titles.append(m.group(1))
    titles = sorted(set(titles), key=_rank)[:TITLES]
    return [
        _row(f"tt-{k:03d}", _TITLE_Q[k % len(_TITLE_Q)].format(t=t), "question", "kb_title")
        for k, t in enumerate(titles)
    ]


def build(
    qa: Path, knowledge: Path, exclude: frozenset[str] | set[str] = frozenset()
) -> list[dict[str, Any]]:
    """All official-wording rows, without any text in ``exclude`` (the dev and held-out messages)."""
    rows = (
        beijing_rows(qa)
        + guide_rows(knowledge / "guides" / "gd_service_guides.jsonl")
        + title_rows(knowledge)
    )
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["question"] in exclude or r["question"] in seen:
            continue
        seen.add(r["question"])
        out.append(r)
    return out
