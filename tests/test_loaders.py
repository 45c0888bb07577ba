"""Loaders: every format, malformed input, and walking a knowledge directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from formats_support import one_page_pdf

from assistant.errors import LoaderError
from assistant.ingest.loaders import LOADERS, iter_knowledge, load_file, normalize_date, normalize_status

MINI = Path(__file__).parent / "fixtures" / "knowledge_mini"


def _write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2024年7月29日", "2024-07-29"),
        ("2024 年 7 月 9 日印发", "2024-07-09"),
        ("2024/7/29", "2024-07-29"),
        ("2024.07.29", "2024-07-29"),
        ("20240729", "2024-07-29"),
        ("2024年7月", "2024-07-01"),
        ("不详", ""),
        ("2024-02-30", ""),
        (None, ""),
    ],
)
def test_normalize_date(raw: object, iso: str) -> None:
    assert normalize_date(raw) == iso


def test_normalize_status() -> None:
    assert normalize_status("废止") == "已废止"
    assert normalize_status("repealed") == "已废止"
    assert normalize_status("已修订") == "已修订"
    assert normalize_status("") == "现行有效"


def test_registry_covers_every_format() -> None:
    for ext in (".json", ".jsonl", ".yaml", ".yml", ".md", ".txt", ".html", ".pdf", ".docx"):
        assert ext in LOADERS


def test_mini_knowledge_loads_cleanly_and_ids_are_stable() -> None:
    docs, errors = iter_knowledge(MINI)
    assert errors == []
    assert len(docs) == 10
    assert {d.type for d in docs} == {"guide", "policy", "law", "faq", "page"}
    again, _ = iter_knowledge(MINI)
    assert [d.id for d in docs] == [d.id for d in again]
    assert len({d.id for d in docs}) == len(docs)
    assert all("#" not in d.id for d in docs)
    assert all(d.source and not d.source.startswith("/") for d in docs)


def test_guide_with_chinese_keys() -> None:
    [doc] = load_file(MINI / "guides" / "residence_permit.json", MINI)
    assert doc.id == "guide-residence-permit"
    assert doc.type == "guide" and doc.title == "居住证申领"
    assert doc.department == "广州市公安局" and doc.region == "广州市"
    assert doc.publish_date == "2024-07-19"
    assert doc.aliases == ["办居住证", "暂住证"]
    assert doc.fields["materials"][0] == "居民身份证原件"
    assert doc.fields["legal_time_limit"] == "15个工作日"
    assert doc.fields["consult_phone"] == "020-12345"
    kinds = [s.kind for s in doc.sections]
    assert kinds == ["conditions", "materials", "process", "time_fees", "place_contact", "basis"]
    place = next(s for s in doc.sections if s.kind == "place_contact")
    assert "投诉电话：020-83113110" in place.text


def test_guide_with_english_keys_in_yaml_list() -> None:
    [doc] = load_file(MINI / "guides" / "passport.yaml", MINI)
    assert doc.title == "普通护照签发"
    assert doc.aliases == ["办护照", "护照办理"]  # a 、-separated string is split
    assert doc.publish_date == "2023-05-01"  # YAML date object normalised
    assert "process" not in [s.kind for s in doc.sections]  # absent fields make no section


def test_json_list_gets_derived_stable_ids(tmp_path: Path) -> None:
    _write(tmp_path, "g/list.json", '[{"name": "甲"}, {"事项名称": "乙", "受理条件": "无"}]')
    docs = load_file(tmp_path / "g" / "list.json", tmp_path)
    assert [d.id for d in docs] == ["g-list-0", "g-list-1"]
    assert docs[1].sections == []  # "无" means empty


def test_policy_front_matter_and_repealed_status() -> None:
    [doc] = load_file(MINI / "policies" / "public_rental_housing.md", MINI)
    assert doc.type == "policy"
    assert doc.doc_number == "穗府办规〔2024〕13号"
    assert doc.publish_date == "2024-07-29"  # from "2024年7月29日"
    assert doc.expiry_date == "2029-07-28"
    assert not doc.text.startswith("# ")  # title heading removed from the body
    assert any(s.kind == "chapter" and s.heading == "第三章 申请条件" for s in doc.sections)
    [old] = load_file(MINI / "policies" / "repealed_policy.md", MINI)
    assert old.status == "已废止" and old.expiry_date == "2021-06-30"


def test_plain_markdown_title_from_first_heading(tmp_path: Path) -> None:
    _write(tmp_path, "p.md", "# 婚姻登记须知\n\n结婚登记应当由双方当事人共同到婚姻登记机关办理。\n")
    [doc] = load_file(tmp_path / "p.md", tmp_path)
    assert doc.title == "婚姻登记须知" and doc.type == "page"
    assert doc.text.startswith("结婚登记")


def test_faq_jsonl() -> None:
    docs = load_file(MINI / "faq" / "faq.jsonl", MINI)
    assert [d.id for d in docs][:2] == ["faq-gjj-1", "faq-gjj-2"]
    assert docs[0].type == "faq" and docs[0].title == "住房公积金可以用来支付房租吗？"
    assert docs[0].fields["answer"].startswith("可以。")
    # no question: title comes from the answer; id derived from the path and record index
    assert docs[2].id == "faq-faq-2" and docs[2].title.startswith("社会保障卡补换")


def test_html_strips_navigation_and_keeps_tables() -> None:
    [doc] = load_file(MINI / "pages" / "social_security_card.html", MINI)
    assert doc.title == "怎么申领广州市社会保障卡？"
    assert "申领人本人有效身份证件原件" in doc.text
    for junk in ("机构概况", "当前位置", "版权所有", "请勿索引", "分享到", "color:red"):
        assert junk not in doc.text
    assert "| 办理渠道 | 办理时限 | 费用 |\n| 银行网点 | 即时制卡 | 免费 |" in doc.text


def test_txt_title_from_first_line() -> None:
    [doc] = load_file(MINI / "pages" / "notice.txt", MINI)
    assert doc.title == "关于2025年养老保险待遇资格认证的提示"
    assert "刷脸认证" in doc.text


def test_docx_with_table(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_heading("生育津贴申领指引", level=1)
    d.add_paragraph("参保职工可由本人申请生育津贴，直接发放至个人。")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "材料", "要求"
    t.cell(1, 0).text, t.cell(1, 1).text = "病历资料", "原件"
    d.save(str(tmp_path / "a.docx"))
    [doc] = load_file(tmp_path / "a.docx", tmp_path)
    assert doc.title == "生育津贴申领指引"
    assert "直接发放至个人" in doc.text
    assert "| 材料 | 要求 |\n| 病历资料 | 原件 |" in doc.text


def _tiny_pdf(text: str) -> bytes:
    """A one-page PDF with Helvetica text, assembled by hand (no PDF writer dependency)."""
    return one_page_pdf(f"BT /F1 12 Tf 50 700 Td ({text}) Tj ET".encode())


def test_pdf(tmp_path: Path) -> None:
    _write(tmp_path, "guide.pdf", _tiny_pdf("Residence permit guide"))
    [doc] = load_file(tmp_path / "guide.pdf", tmp_path)
    assert "Residence permit guide" in doc.text and doc.type == "page"


@pytest.mark.parametrize(
    ("rel", "content", "reason"),
    [
        ("bad.json", "{not json", "invalid JSON"),
        ("bad.jsonl", '{"name": "甲"}\n{oops}\n', "line 2"),
        ("neither.jsonl", '{"foo": 1}\n', "neither a guide"),
        ("noname.json", '{"name": "", "受理条件": "x"}', "without a name"),
        ("bad.yaml", "a: [1, 2\n", "invalid YAML"),
        ("front.md", "---\ntitle: [oops\n---\n正文\n", "front matter"),
        ("empty.md", "---\ntitle: 空\n---\n\n", "no body"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "UTF-8"),
        ("broken.pdf", b"%PDF-1.4 this is not a pdf", "PDF"),
        ("broken.docx", b"PK not a zip", ".docx"),
        ("empty.html", "<html><body><script>x()</script></body></html>", "no text"),
        ("data.csv", "a,b\n", "no loader"),
    ],
)
def test_malformed_input_raises_loader_error(
    tmp_path: Path, rel: str, content: str | bytes, reason: str
) -> None:
    path = _write(tmp_path, rel, content)
    with pytest.raises(LoaderError) as info:
        load_file(path, tmp_path)
    assert info.value.path == str(path)
    assert reason in info.value.reason


def test_iter_knowledge_reports_bad_files_and_continues(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    shutil.copytree(MINI, root)
    bad = _write(root, "faq/broken.jsonl", '{"question": "q", "answer": "a"}\n{broken\n')
    _write(root, ".hidden/x.json", "{not json")  # hidden: skipped
    _write(root, "notes.csv", "ignored")  # no loader: skipped by the walk
    docs, errors = iter_knowledge(root)
    assert len(docs) == 10
    assert [e.path for e in errors] == [str(bad)]
    assert "line 2" in errors[0].reason
    with pytest.raises(LoaderError):
        iter_knowledge(root, strict=True)


def test_iter_knowledge_reports_duplicate_ids(tmp_path: Path) -> None:
    _write(tmp_path, "a.jsonl", '{"id": "same", "question": "q1", "answer": "a1"}\n')
    _write(tmp_path, "b.jsonl", '{"id": "same", "question": "q2", "answer": "a2"}\n')
    docs, errors = iter_knowledge(tmp_path)
    assert [d.source for d in docs] == ["a.jsonl"]
    assert "duplicate document id" in errors[0].reason


def test_iter_knowledge_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(LoaderError):
        iter_knowledge(tmp_path / "nope")
