"""The colloquial datasets: schema, no row shared between splits, gold ids and key facts found in knowledge/."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from assistant.intent import INTENTS

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "evals" / "datasets"
KNOWLEDGE = ROOT / "knowledge"
ASPECTS = {"材料", "在哪办", "多久", "多少钱", "条件", "能不能", "几年", "几天", "电话", "流程"}
_ID_LINE = re.compile(r"^id:\s*['\"]?(.+?)['\"]?\s*$", re.M)
_SPACE = re.compile(r"\s+")


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATASETS / name).read_text(encoding="utf-8").splitlines() if line]


@cache
def _knowledge_texts() -> dict[str, str]:
    """Document id → raw text (guides: the JSON record; Markdown: the whole file), whitespace removed."""
    texts: dict[str, str] = {}
    for line in (KNOWLEDGE / "guides" / "gd_service_guides.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            texts[rec["id"]] = _SPACE.sub("", json.dumps(rec, ensure_ascii=False))
    for path in KNOWLEDGE.rglob("*.md"):
        raw = path.read_text(encoding="utf-8")
        m = _ID_LINE.search(raw)
        if m:
            texts[m.group(1)] = _SPACE.sub("", raw)
    return texts


@pytest.mark.parametrize("split", ["train", "dev"])
def test_intent_rows_have_known_labels(split):
    rows = _rows(f"colloquial_intent_{split}.jsonl")
    assert len(rows) >= (600 if split == "train" else 250)
    assert {r["intent"] for r in rows} == set(INTENTS)
    for r in rows:
        assert r["question"].strip() and r["persona"]
        assert r["should_handoff"] is (r["intent"] != "question")


def test_no_message_is_shared_between_intent_splits():
    train = {r["question"] for r in _rows("colloquial_intent_train.jsonl")}
    dev = {r["question"] for r in _rows("colloquial_intent_dev.jsonl")}
    held_out = {
        r["question"] for r in _rows("colloquial_qa_dev.jsonl") + _rows("colloquial_followup_dev.jsonl")
    }
    held_out |= {h["content"] for r in _rows("colloquial_followup_dev.jsonl") for h in r["history"]}
    assert not train & dev
    assert not train & held_out


QA_FILES = [
    "colloquial_qa_train.jsonl",
    "colloquial_qa_dev.jsonl",
    "colloquial_followup_train.jsonl",
    "colloquial_followup_dev.jsonl",
]


@pytest.mark.parametrize("name", QA_FILES)
def test_gold_ids_exist_and_key_facts_are_in_a_gold_document(name):
    texts = _knowledge_texts()
    for r in _rows(name):
        assert r["gold_passage_ids"], r["id"]
        missing = [g for g in r["gold_passage_ids"] if g not in texts]
        assert not missing, (r["id"], missing)
        assert r["aspect"] in ASPECTS, r["id"]
        for fact in r["key_facts"]:
            needle = _SPACE.sub("", fact)
            assert any(needle in texts[g] for g in r["gold_passage_ids"]), (r["id"], fact)
        if name.startswith("colloquial_followup"):
            assert r["history"] and r["history"][0]["role"] == "user"


def test_qa_splits_ask_about_different_documents():
    def docs(split: str) -> set[str]:
        rows = _rows(f"colloquial_qa_{split}.jsonl") + _rows(f"colloquial_followup_{split}.jsonl")
        return {g for r in rows for g in r["gold_passage_ids"]}

    assert not docs("train") & docs("dev")
    assert len(_rows("colloquial_qa_train.jsonl")) + len(_rows("colloquial_qa_dev.jsonl")) >= 150
    assert len(_rows("colloquial_followup_train.jsonl")) + len(_rows("colloquial_followup_dev.jsonl")) >= 40


def test_official_intent_rows_are_reproducible_and_keep_evaluation_rows_out():
    """intent_official_train.jsonl is what ``python -m assistant.intent augment`` writes; it holds no
    Beijing question of an evaluation department and no message of a dev / held-out set."""
    from assistant.intent.__main__ import HELD_OUT, _texts
    from assistant.intent.official import TRAIN_DEPARTMENTS, build

    rows = _rows("intent_official_train.jsonl")
    exclude = {t for name in HELD_OUT for t in _texts(DATASETS / name, "question")}
    assert rows == build(DATASETS / "beijing_qa_dev.jsonl", KNOWLEDGE, exclude)
    assert {r["intent"] for r in rows} == {"question", "case"}
    assert all(r["should_handoff"] is (r["intent"] != "question") for r in rows)
    assert not {r["question"] for r in rows} & exclude
    department = {r["id"]: r["department"] for r in _rows("beijing_qa_dev.jsonl")}
    beijing = [r for r in rows if r["source"] == "beijing_train_department"]
    assert len(beijing) >= 300
    assert {department[r["id"].removeprefix("io-bj-")] for r in beijing} <= set(TRAIN_DEPARTMENTS)
    evaluated = {
        q
        for q, d in ((r["question"], r["department"]) for r in _rows("beijing_qa_dev.jsonl"))
        if d not in TRAIN_DEPARTMENTS
    }
    assert not {r["question"] for r in rows} & evaluated
    # how-to lookups are questions; first-person progress messages about other items are cases
    assert sum(r["source"] == "kb_guide_lookup" for r in rows) >= 100
    assert sum(r["intent"] == "case" for r in rows) >= 100
