"""The calibration command (tools/calibrate.py) on a tiny synthetic dev set: it runs and its figures move the right way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.calibrate import main

POSTS = [
    "我要投诉街道办工作人员态度恶劣，请领导尽快处理！",
    "尊敬的领导：我家小区违建多年无人管理，强烈要求查处。",
    "请问我的个人社保缴费记录为什么少了三个月，麻烦帮我核实。",
    "举报某公司长期拖欠工人工资，希望有关部门介入。",
    "楼下饭店油烟扰民，多次反映没有结果，请转人工处理。",
]
QUESTIONS = [
    "居住证怎么办理",
    "公积金提取需要什么材料",
    "失业保险金怎么领",
    "新生儿怎么上户口",
    "社保卡丢了怎么补办",
]
PASSAGES = [
    "申领居住证应当提交本人居民身份证和居住地住址证明材料。居住证由公安机关签发并每年签注一次。",
    "提取住房公积金需要提供身份证和银行卡原件。购房提取还应当提供购房合同和付款凭证。",
    "失业人员应当到户籍所在地的公共就业服务机构办理失业登记。失业保险金按月发放并不得重复领取。",
    "新生儿应当在出生后一个月内办理出生登记。办理时需要提供出生医学证明和父母双方户口簿。",
    "社会保障卡遗失后应当及时挂失并申请补办。补办新卡需要本人携带有效身份证件到服务网点。",
    "地震发生时应当迅速躲到坚固的桌子下面保护头部。地震过后应当有序撤离到空旷的安全地带。",
]


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_calibration_prints_handoff_and_grounding_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _jsonl(tmp_path / "citizen_messages_dev.jsonl", [{"question": q} for q in POSTS])
    _jsonl(
        tmp_path / "beijing_qa_dev.jsonl", [{"question": q, "department": "市政务服务局"} for q in QUESTIONS]
    )
    _jsonl(
        tmp_path / "beijing_passages_dev.jsonl", [{"department": "市政务服务局", "text": t} for t in PASSAGES]
    )
    assert main(["--dev", str(tmp_path), "--pairs", "200"]) == 0
    out = json.loads(capsys.readouterr().out)
    handoff, grounding = out["handoff"], out["grounding"]
    assert (
        set(handoff["false_handoff_by_department"]) == {"市政务服务局"}
        and len(handoff["recall_by_fold"]) == 5
    )
    recall = [v["handoff_recall"] for v in handoff["sweep"].values()]
    assert recall == sorted(recall, reverse=True)  # a higher threshold never hands off more
    # an edited copy of a source sentence is far better supported than another passage's sentence
    assert grounding["edited_source_sentence"]["median"] > grounding["other_passage_sentence"]["median"]
