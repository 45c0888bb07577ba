"""Read evaluation datasets and passage corpora (JSONL), reporting bad lines instead of failing on them.

Dataset rows: ``id``, ``question``, optional ``answer`` (reference), ``gold_passage_ids``,
``should_handoff``, ``history``, ``department``, ``key_facts`` (facts the answer should open with),
``intent`` (the expected label, see ``assistant.intent.INTENTS``) and ``aspect``; other fields are ignored. Corpus rows: ``id``,
``text``, optional ``title``, ``department``, ``region``, ``type``; each becomes one ``Document``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import InvalidInputError
from assistant.types import Document, Section, Turn

Warn = Callable[[str], None]

_CLAUSE_END = re.compile(r"[。！？；，、,;!?\n：:]")
_DOC_TYPES = {"guide", "policy", "law", "faq", "page"}
TITLE_MAX = 40


@dataclass
class EvalRow:
    """One question to evaluate, with whatever references its dataset provides."""

    id: str
    question: str
    dataset: str  # file stem, used to tell datasets apart in reports and in ``compare``
    reference: str = ""
    gold: list[str] = field(default_factory=list)
    should_handoff: bool = False
    history: list[Turn] = field(default_factory=list)
    department: str = ""
    type: str = ""
    key_facts: list[str] = field(default_factory=list)
    intent: str = ""
    aspect: str = ""


class DatasetError(InvalidInputError):
    """A dataset or corpus file is unusable as a whole (missing, unreadable, empty)."""

    code = "dataset_error"


def _read_jsonl(path: Path, warn: Warn) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each well-formed JSON-object line; blank lines are skipped silently."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    out: list[tuple[int, dict[str, Any]]] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            warn(f"{path}:{lineno}: skipped malformed line: invalid JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            warn(f"{path}:{lineno}: skipped malformed line: expected a JSON object")
            continue
        out.append((lineno, obj))
    return out


def _str_field(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string")
    return value


def _parse_history(value: Any) -> list[Turn]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("field 'history' must be a list of {role, content}")
    turns: list[Turn] = []
    for item in value:
        if not (
            isinstance(item, dict)
            and item.get("role") in ("user", "assistant")
            and isinstance(item.get("content"), str)
        ):
            raise ValueError("field 'history' must be a list of {role: user|assistant, content: str}")
        turns.append(Turn(role=item["role"], content=item["content"]))
    return turns


def _parse_gold(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ValueError("field 'gold_passage_ids' must be a list of document ids")
    return [str(v) for v in value]


def _parse_facts(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("field 'key_facts' must be a list of non-empty strings")
    return [v.strip() for v in value]


def parse_row(obj: dict[str, Any], dataset: str) -> EvalRow:
    """Turn one dataset object into an ``EvalRow``; raises ValueError with a short reason when unusable."""
    row_id = _str_field(obj, "id").strip()
    if not row_id:
        raise ValueError("missing 'id'")
    question = _str_field(obj, "question").strip()
    if not question:
        raise ValueError("missing or empty 'question'")
    should_handoff = obj.get("should_handoff", False)
    if not isinstance(should_handoff, bool):
        raise ValueError("field 'should_handoff' must be true or false")
    return EvalRow(
        id=row_id,
        question=question,
        dataset=dataset,
        reference=_str_field(obj, "answer").strip(),
        gold=_parse_gold(obj.get("gold_passage_ids")),
        should_handoff=should_handoff,
        history=_parse_history(obj.get("history")),
        department=_str_field(obj, "department").strip(),
        type=_str_field(obj, "type").strip() or _str_field(obj, "question_type").strip(),
        key_facts=_parse_facts(obj.get("key_facts")),
        intent=_str_field(obj, "intent").strip(),
        aspect=_str_field(obj, "aspect").strip(),
    )


def load_dataset(path: Path, warn: Warn, limit: int | None = None) -> list[EvalRow]:
    """Rows of one dataset file, in file order; bad lines and duplicate ids are reported and skipped."""
    dataset = path.stem
    rows: list[EvalRow] = []
    seen: set[str] = set()
    for lineno, obj in _read_jsonl(path, warn):
        try:
            row = parse_row(obj, dataset)
        except ValueError as exc:
            warn(f"{path}:{lineno}: skipped malformed line: {exc}")
            continue
        if row.id in seen:
            warn(f"{path}:{lineno}: skipped duplicate id {row.id!r}")
            continue
        seen.add(row.id)
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    return rows


def load_datasets(paths: Sequence[Path], warn: Warn, limit: int | None = None) -> list[EvalRow]:
    """All rows of all datasets (``limit`` applies per dataset); raises ``DatasetError`` when none is usable."""
    stems = [p.stem for p in paths]
    if len(set(stems)) != len(stems):
        raise DatasetError("two --dataset files share a file name; rename one so reports can tell them apart")
    rows: list[EvalRow] = []
    for path in paths:
        got = load_dataset(path, warn, limit)
        if not got:
            raise DatasetError(f"{path}: dataset is empty (no usable rows)")
        rows.extend(got)
    return rows


def default_title(text: str) -> str:
    """A title for an untitled passage: its first clause, at most ``TITLE_MAX`` characters."""
    text = text.strip()
    first = _CLAUSE_END.split(text, maxsplit=1)[0].strip() or text
    return first[:TITLE_MAX]


def corpus_document(obj: dict[str, Any], source: str) -> Document:
    """One corpus row as a ``Document`` (type ``faq`` by default: the text is the answer)."""
    doc_id = _str_field(obj, "id").strip()
    if not doc_id:
        raise ValueError("missing 'id'")
    text = _str_field(obj, "text").strip()
    if not text:
        raise ValueError("missing or empty 'text'")
    doc_type = _str_field(obj, "type").strip() or "faq"
    if doc_type not in _DOC_TYPES:
        raise ValueError(f"field 'type' must be one of {', '.join(sorted(_DOC_TYPES))}")
    title = _str_field(obj, "title").strip() or default_title(text)
    fields: dict[str, Any] = {"question": "", "answer": text} if doc_type == "faq" else {}
    return Document(
        id=doc_id,
        title=title,
        type=doc_type,
        text=text,
        source=source,
        department=_str_field(obj, "department").strip(),
        region=_str_field(obj, "region").strip(),
        sections=[
            Section(
                heading="" if doc_type == "faq" else title, text=text, kind="faq" if doc_type == "faq" else ""
            )
        ],
        fields=fields,
    )


def load_corpus(paths: Sequence[Path], warn: Warn) -> list[Document]:
    """Documents of all corpus files; a later row with an id already seen replaces the earlier one (with a warning)."""
    docs: dict[str, Document] = {}
    for path in paths:
        count = 0
        for lineno, obj in _read_jsonl(path, warn):
            try:
                doc = corpus_document(obj, f"corpus:{path.name}")
            except ValueError as exc:
                warn(f"{path}:{lineno}: skipped malformed line: {exc}")
                continue
            if doc.id in docs:
                warn(f"{path}:{lineno}: corpus id {doc.id!r} appears twice; the later row wins")
            docs[doc.id] = doc
            count += 1
        if count == 0:
            raise DatasetError(f"{path}: corpus is empty (no usable rows)")
    return list(docs.values())
