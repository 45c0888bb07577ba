"""The raw → knowledge converter, on a tiny synthetic raw dir (and on the real one when present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from assistant.ingest.loaders import iter_knowledge
from tools.convert_raw import convert, main, passage_title

REAL_RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "knowledge_raw"
REAL_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"

GUIDE = {
    "_id": {"$oid": "60ae6f94e995f7e541f057f2"},
    "TASK_CODE": "11440100TEST01",
    "TASK_TYPE_TEXT": "公共服务",
    "DEPT_NAME": "广州市公安局",
    "AREA_CODE_TEXT": "广东省广州市",
    "TASK_NAME": "居住证签注",
    "URL": "https://example.gov.cn/guide/1",
    "matter_name": "居住证签注",
    "matter_short": "无",
    "matter_daily": "居住证续签、居住证签注",
    "matter_level": "市级",
    "handle_location": "办理地点：各街道来穗人员服务站",
    "handle_time": "20(工作日)",
    "handle_time_limit": "无",
    "accept_standard": "持有居住证的人员，符合下列条件的：",
    "consult_phone": "020-12345",
    "complain_phone": "无",
    "material_intro": ["居住证", "居民身份证"],
    "service_object_name": ["自然人"],
}
PAGE_BODY = "".join(
    f"第{n}条 公共租赁住房保障对象应当按规定申请，第{n}项要求由住房保障部门负责审核。" for n in range(1, 40)
)


def _raw(tmp: Path) -> tuple[Path, Path]:
    raw, dev = tmp / "raw", tmp / "dev"
    g = raw / "gd_service_guides"
    g.mkdir(parents=True)
    sparse = {k: v for k, v in GUIDE.items() if k in ("TASK_CODE", "matter_name", "DEPT_NAME")}
    other = {**GUIDE, "TASK_CODE": "11440000TEST02", "matter_level": "省级", "matter_name": "中小学教材审定"}
    lines = [json.dumps(r, ensure_ascii=False) for r in (GUIDE, sparse, other)]
    (g / "policy.json").write_text("\n".join(lines) + "\n", encoding="utf-8")

    p = raw / "gz_policy_docs"
    (p / "policy_sources").mkdir(parents=True)
    docs = [
        {
            "id": "doc_1",
            "title": "广州市公共租赁住房保障办法",
            "source": "广州市人民政府办公厅",
            "doc_no": "穗府办规〔2024〕13号",
            "publish_date": "2024-07-29",
            "source_url": "https://www.gz.gov.cn/a.html",
            "original_text": "关注 · 广州政府网\n" + PAGE_BODY[:300],
            "remark": "上游团队备注：不要收录",
        },
        {
            "id": "doc_2",
            "title": "创业担保贷款常见问题",
            "source": "广州市人力资源和社会保障局（市劳动就业服务管理中心）",
            "doc_no": "（政务问答）",
            "publish_date": "2025-11-18",
            "source_url": "https://rsj.gz.gov.cn/b.html",
            "original_text": "一、创业担保贷款申请对象有哪几类？\n答：个人借款人和小微企业借款人。",
            "remark": "备注",
        },
    ]
    (p / "documents.json").write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    paras = "".join(f"<p>{s}。</p>" for s in PAGE_BODY.split("。") if s)
    (p / "policy_sources" / "11_公租房.html").write_text(
        f"<html><head><title>公租房</title></head><body><div class='mainnav'><a href='/'>首页</a></div>"
        f"<div id='zoomcon'><p>穗府办规〔2024〕13号</p><p>广州市公共租赁住房保障办法</p>{paras}</div></body></html>",
        encoding="utf-8",
    )
    unmatched = "".join(
        f"<p>老年人优待卡可用于乘坐公交、游览公园等第{n}项优待服务，具体以公布为准。</p>" for n in range(12)
    )
    (p / "policy_sources" / "33b_优待卡.html").write_text(
        f"<html><head><title>老年优待卡办理指南</title></head><body><div id='zoomcon'>{unmatched}</div></body></html>",
        encoding="utf-8",
    )
    (p / "policy_sources" / "20b_目录.html").write_text(
        "<html><body><div id='zoomcon'>"
        + "".join(f"<h2>公告{n}</h2><p>2024-01-0{n % 9 + 1}</p>" for n in range(30))
        + "</div></body></html>",
        encoding="utf-8",
    )

    law = raw / "regulations_lawrefbook" / "national" / "行政法规"
    law.mkdir(parents=True)
    (law / "住房公积金管理条例(2019-03-24).md").write_text(
        "# 住房公积金管理条例\n\n1999年4月3日 中华人民共和国国务院令第262号发布　\n\n"
        "2002年3月24日 《国务院关于修改〈住房公积金管理条例〉的决定》第一次修订　\n\n<!-- INFO END -->\n\n"
        "## 第一章 总则\n\n第一条 为了加强对住房公积金的管理，制定本条例。\n\n第二条 本条例适用于住房公积金的缴存。\n",
        encoding="utf-8",
    )
    bj = raw / "regulations_lawrefbook" / "beijing"
    bj.mkdir(parents=True)
    (bj / "北京市养犬管理规定.md").write_text(
        "# 北京市养犬管理规定\n\n2003年9月5日 北京市第十二届人民代表大会常务委员会第六次会议通过\n\n<!-- INFO END -->\n\n"
        "第一条 为加强养犬管理，制定本规定。\n",
        encoding="utf-8",
    )
    dev.mkdir()
    rows = [
        {
            "id": "msga_p_0000",
            "department": "应急局",
            "text": "1、尽量保护头部，便于呼吸。地震过后，首先应设法保护头部。",
        },
        {"id": "msga_p_0001", "department": "医保局", "text": "可以。"},
    ]
    (dev / "beijing_passages_dev.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return raw, dev


def _front(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


def test_convert_synthetic_raw(tmp_path: Path) -> None:
    raw, dev = _raw(tmp_path)
    out = tmp_path / "knowledge"
    counts = convert(raw, dev, out)
    assert counts == {"guides": 2, "policies": 3, "laws": 2, "faq": 2}

    guides = [
        json.loads(x)
        for x in (out / "guides" / "gd_service_guides.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    g = guides[0]
    assert g["id"] == "gd-11440100TEST01" and g["region"] == "广州市"  # the fuller duplicate won
    assert g["legal_time_limit"] == "20个工作日"
    assert "promised_time_limit" not in g and "complaint_phone" not in g  # "无" means empty
    assert g["location"] == "各街道来穗人员服务站"
    assert g["aliases"] == ["居住证续签"]  # the item's own name is not an alias
    assert g["online_url"] == g["url"] == "https://example.gov.cn/guide/1"
    assert g["conditions_truncated"] is True and g["updated"] == "2021-05-26"
    assert guides[1]["region"] == "广东省"

    policy = next((out / "policies").glob("gz-doc-1_*.md"))
    meta = _front(policy)
    assert (
        meta["doc_number"] == "穗府办规〔2024〕13号"
        and meta["type"] == "policy"
        and meta["region"] == "广州市"
    )
    body = policy.read_text(encoding="utf-8")
    assert "第39条" in body  # full text came from the longer capture
    assert "上游团队备注" not in body and "首页" not in body
    qa = _front(next((out / "policies").glob("gz-doc-2_*.md")))
    assert "doc_number" not in qa and qa["label"] == "（政务问答）"
    assert qa["issuer"] == "广州市人力资源和社会保障局"
    extra = sorted(p.name for p in (out / "policies").glob("gz-src-*.md"))
    assert extra == ["gz-src-33b_优待卡.md"]  # listing page 20b is not substantive

    law = _front(out / "laws" / "national" / "住房公积金管理条例.md")
    assert law["issuer"] == "国务院" and law["doc_number"] == "国务院令第262号"
    assert law["publish_date"] == "2019-03-24" and law["region"] == "全国" and law["type"] == "law"
    bj = _front(out / "laws" / "beijing" / "北京市养犬管理规定.md")
    assert bj["region"] == "北京市" and bj["issuer"] == "北京市人民代表大会常务委员会"
    assert bj["publish_date"] == "2003-09-05"

    faq = [
        json.loads(x)
        for x in (out / "faq" / "beijing_dev_passages.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [r["id"] for r in faq] == ["msga_p_0000", "msga_p_0001"]
    assert all(r["question"] == "" and r["region"] == "北京市" for r in faq)
    assert faq[0]["title"] == "尽量保护头部，便于呼吸" and faq[0]["department"] == "应急局"

    docs, errors = iter_knowledge(out)
    assert errors == []
    assert {d.id for d in docs} >= {
        "msga_p_0000",
        "gd-11440100TEST01",
        "gz-doc-1",
        "law-cn-住房公积金管理条例",
    }


def test_convert_is_deterministic(tmp_path: Path) -> None:
    raw, dev = _raw(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    convert(raw, dev, a)
    convert(raw, dev, b)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)


def test_main_without_inputs_fails(tmp_path: Path) -> None:
    assert main(["--raw", str(tmp_path / "none"), "--out", str(tmp_path / "k")]) == 1


def test_passage_title_is_short() -> None:
    assert (
        passage_title("（一）参保人员可以在定点医疗机构就医，" + "费用按规定结算" * 10 + "。")
        == "参保人员可以在定点医疗机构就医"
    )
    assert len(passage_title("很长" * 40)) <= 30


@pytest.mark.skipif(not REAL_RAW.is_dir() or not REAL_DEV.is_dir(), reason="shared raw data not present")
def test_convert_real_raw(tmp_path: Path) -> None:
    counts = convert(REAL_RAW, REAL_DEV, tmp_path)
    assert counts["guides"] == 2262 and counts["laws"] == 106 and counts["faq"] == 1083
    assert counts["policies"] >= 37
    docs, errors = iter_knowledge(tmp_path)
    assert errors == []
    assert len(docs) == sum(counts.values())
