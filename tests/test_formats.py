"""Issue 19: scanned PDFs and images (OCR), tables in PDFs, .xlsx, OFD and old Office formats —
each loaded from a real file the test builds, and answered from end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_settings
from formats_support import (
    NOTICE,
    blank_pdf,
    cjk_font,
    fee_xlsx,
    make_ofd,
    png_with_text,
    scanned_pdf,
    table_pdf,
)

from assistant.config import OcrSettings
from assistant.errors import LoaderError
from assistant.ingest import ocr
from assistant.ingest.build import ingest
from assistant.ingest.loaders import iter_knowledge, load_file
from assistant.ingest.loaders.header import read_header
from assistant.ingest.loaders.legacy import soffice
from assistant.ingest.ocr import FakeOcrEngine, OcrLine, page_text
from assistant.pipeline import Assistant

NOTICE_TEXT = "\n".join(line.strip().lstrip("^") for line in NOTICE)


@pytest.fixture
def fake_ocr() -> Iterator[FakeOcrEngine]:
    engine = FakeOcrEngine()
    ocr.configure(OcrSettings(engine="fake"), engine)
    yield engine
    ocr.configure(OcrSettings())


# ---------------------------------------------------------------- header, layout


def test_header_reads_doc_number_title_and_date() -> None:
    h = read_header(NOTICE_TEXT)
    assert h.doc_number == "京政办发〔2026〕15号"
    assert h.title == "关于调整居住证办理时限的通知"
    assert h.publish_date == "2026-03-01"


def test_header_chinese_numeral_date_and_ocr_brackets() -> None:
    h = read_header(
        "广州市人民政府\n穗府[2025】 8号\n广州市养老服务条例实施办法\n正文。\n二〇二五年十二月三十一日"
    )
    assert (h.doc_number, h.title, h.publish_date) == (
        "穗府〔2025〕8号",
        "广州市养老服务条例实施办法",
        "2025-12-31",
    )


def test_page_text_reading_order_and_paragraphs() -> None:
    def line(text: str, x: float, y: float) -> OcrLine:
        return OcrLine(text, 0.9, (x, y, x + 30 * len(text), y + 30))

    # shuffled input; a paragraph wrapped over two rows; two boxes on one row
    lines = [
        line("二、第二段。", 100, 200),
        line("一、第一段开始", 100, 100),
        line("接着写完。", 40, 140),
        line("标题", 300, 40),
        line("右侧", 400, 100 + 3),
    ]
    text = page_text(lines)
    assert text.splitlines() == ["标题", "一、第一段开始 右侧接着写完。", "二、第二段。"]


# ---------------------------------------------------------------- loaders


def test_image_is_ocrd_with_confidence_and_header(tmp_path: Path, fake_ocr: FakeOcrEngine) -> None:
    png_with_text(tmp_path / "scan.png", NOTICE_TEXT)
    [doc] = load_file(tmp_path / "scan.png", tmp_path)
    assert "工本费为20元" in doc.text
    assert doc.title == "关于调整居住证办理时限的通知" and doc.doc_number == "京政办发〔2026〕15号"
    assert doc.publish_date == "2026-03-01"
    assert doc.fields["ocr"]["pages"] == [{"page": 1, "confidence": 0.97, "review": False}]
    assert doc.metadata()["ocr"]["engine"] == "fake"


def test_low_confidence_pages_are_flagged_for_review(tmp_path: Path) -> None:
    engine = FakeOcrEngine(["第一页，看得清。", "第二页，模糊。"], confidence=0.5)
    ocr.configure(OcrSettings(engine="fake", min_confidence=0.8), engine)
    try:
        [doc] = load_file(blank_pdf(tmp_path / "scan.pdf", 2), tmp_path)
    finally:
        ocr.configure(OcrSettings())
    assert doc.fields["ocr"]["review"] == [1, 2]
    assert "第一页" in doc.text and "第二页" in doc.text


def test_scanned_pdf_pages_only_are_ocrd(tmp_path: Path, fake_ocr: FakeOcrEngine) -> None:
    fake_ocr.pages = ["关于开展体检的通知\n体检费用为每人150元。"]
    [doc] = load_file(blank_pdf(tmp_path / "scan.pdf"), tmp_path)
    assert fake_ocr.calls == 1 and "每人150元" in doc.text and doc.title == "关于开展体检的通知"
    # a text PDF never reaches the OCR engine
    [text_doc] = load_file(table_pdf(tmp_path / "fees.pdf", "Fee schedule", [["Item", "Fee"]]), tmp_path)
    assert fake_ocr.calls == 1 and "ocr" not in text_doc.fields


def test_ocr_time_budget_leaves_later_pages_flagged(tmp_path: Path) -> None:
    engine = FakeOcrEngine(["第一页。", "第二页。", "第三页。"])
    ocr.configure(OcrSettings(engine="fake", seconds_per_file=0.0), engine)
    try:
        with pytest.raises(LoaderError, match="no extractable text"):
            load_file(blank_pdf(tmp_path / "long.pdf", 3), tmp_path)
    finally:
        ocr.configure(OcrSettings())
    assert engine.calls == 0


def test_pdf_ruled_table_becomes_rows(tmp_path: Path) -> None:
    rows = [["Item", "Fee"], ["Passport", "120 yuan"], ["ID card", "20 yuan"]]
    [doc] = load_file(table_pdf(tmp_path / "fees.pdf", "Fee schedule", rows), tmp_path)
    assert "| Item | Fee |\n| Passport | 120 yuan |\n| ID card | 20 yuan |" in doc.text
    assert doc.text.index("Fee schedule") < doc.text.index("| Item") < doc.text.index("paid at the counter")


def test_xlsx_sheets_become_tables_with_header(tmp_path: Path) -> None:
    [doc] = load_file(fee_xlsx(tmp_path / "fees.xlsx"), tmp_path)
    assert doc.title == "出入境证件收费标准"
    assert (
        "## 出入境证件\n出入境证件收费标准\n| 项目 | 收费标准 | 依据 |\n| 普通护照 | 120元/本 |" in doc.text
    )
    assert "| 台湾居民来往大陆通行证 | 40 |" in doc.text  # 40.0 → 40
    assert "## 户籍\n| 项目 | 收费标准 |\n| 居民身份证换领 | 20元/证 |" in doc.text


def test_xlsx_long_sheet_chunks_repeat_the_header(tmp_path: Path) -> None:
    import openpyxl

    from assistant.config import ChunkSettings
    from assistant.ingest.chunking import chunk_document

    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["项目", "收费标准"])
    for i in range(120):
        ws.append([f"第{i}项服务", f"{i}元"])
    book.save(str(tmp_path / "long.xlsx"))
    [doc] = load_file(tmp_path / "long.xlsx", tmp_path)
    chunks = chunk_document(doc, ChunkSettings())
    tables = [c for c in chunks if c.kind == "table"]
    assert len(tables) > 1 and all(c.text.startswith("| 项目 | 收费标准 |") for c in tables)


def test_ofd_text_title_and_dates(tmp_path: Path) -> None:
    path = make_ofd(
        tmp_path / "notice.ofd",
        "关于公布养老服务补贴标准的通知",
        [
            ["北京市人民政府办公厅", "京政办发〔2026〕15号", "关于公布养老服务补贴标准的通知"],
            ["八十周岁以上老人每月补贴100元。", "2026年2月10日"],
        ],
    )
    [doc] = load_file(path, tmp_path)
    assert doc.title == "关于公布养老服务补贴标准的通知"
    assert doc.doc_number == "京政办发〔2026〕15号"
    assert doc.publish_date == "2026-02-10"
    assert "每月补贴100元" in doc.text and doc.source == "notice.ofd"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"PK not a zip", "not a zip"), (None, "DocRoot")],
)
def test_malformed_ofd_is_a_loader_error(tmp_path: Path, content: bytes | None, reason: str) -> None:
    import zipfile

    path = tmp_path / "bad.ofd"
    if content is None:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("OFD.xml", "<OFD/>")
    else:
        path.write_bytes(content)
    with pytest.raises(LoaderError, match=reason):
        load_file(path, tmp_path)


@pytest.mark.parametrize(("name", "target"), [("old.doc", "DOCX"), ("old.wps", "DOCX"), ("old.xls", "XLSX")])
def test_old_office_formats_without_libreoffice_say_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, target: str
) -> None:
    from assistant.ingest.loaders import legacy

    monkeypatch.setattr(legacy, "soffice", lambda: None)
    (tmp_path / name).write_bytes(b"\xd0\xcf\x11\xe0 not really OLE")
    docs, errors = iter_knowledge(tmp_path)
    assert docs == [] and len(errors) == 1
    assert f"convert it to {target}" in errors[0].reason


@pytest.mark.skipif(soffice() is None, reason="LibreOffice not installed (make office)")
def test_doc_converted_by_libreoffice(tmp_path: Path) -> None:
    import subprocess

    import docx

    d = docx.Document()
    d.add_paragraph("关于办理社保卡的通知")
    d.add_paragraph("补办社保卡工本费为15元。")
    d.save(str(tmp_path / "src.docx"))
    out = tmp_path / "kb"
    out.mkdir()
    subprocess.run(
        [
            str(soffice()),
            "--headless",
            "--convert-to",
            "doc",
            "--outdir",
            str(out),
            str(tmp_path / "src.docx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    [doc] = load_file(out / "src.doc", out)
    assert "工本费为15元" in doc.text and doc.source == "src.doc"


# ---------------------------------------------------------------- end to end: ingest, ask, cite


def _ask(tmp_path: Path, kb: Path, question: str, **ingest_kw: object) -> tuple[str, list[str]]:
    settings = make_settings(tmp_path, knowledge_dir=kb)
    report = ingest(settings, **ingest_kw)  # type: ignore[arg-type]
    assert not report.skipped, report.summary()
    assistant = Assistant.from_settings(settings)
    assistant.warm_up()
    answer = assistant.answer(question)
    return answer.text, [c.doc_id for c in answer.citations]


def test_xlsx_fee_table_answers_how_much(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    fee_xlsx(kb / "fees.xlsx")
    text, cited = _ask(tmp_path, kb, "普通护照收费多少")
    assert "120元/本" in text and cited[0] == "fees"


def test_ofd_notice_is_answered(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    make_ofd(
        kb / "subsidy.ofd",
        "关于公布养老服务补贴标准的通知",
        [["关于公布养老服务补贴标准的通知", "八十周岁以上老人每月发放养老服务补贴100元。", "2026年2月10日"]],
    )
    text, cited = _ask(tmp_path, kb, "八十周岁以上老人养老服务补贴每月多少")
    assert "100元" in text and cited[0] == "subsidy"


def test_scanned_image_is_answered_with_fake_ocr(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    png_with_text(kb / "notice.png", NOTICE_TEXT)
    text, cited = _ask(tmp_path, kb, "居住证工本费多少钱", ocr_engine=FakeOcrEngine())
    assert "20元" in text and cited[0] == "notice"


@pytest.mark.slow
@pytest.mark.skipif(cjk_font() is None, reason="no CJK font (make browser installs fonts-noto-cjk)")
def test_scanned_pdf_of_a_chinese_notice_is_ocrd_and_answered(tmp_path: Path) -> None:
    """The real engine (RapidOCR, bundled PP-OCRv4) on an image-only PDF rendered from Chinese text."""
    pytest.importorskip("rapidocr_onnxruntime")
    kb = tmp_path / "kb"
    kb.mkdir()
    scanned_pdf(kb / "notice.pdf", [NOTICE])
    settings = make_settings(tmp_path, knowledge_dir=kb)
    report = ingest(settings)
    assert not report.skipped, report.summary()
    assistant = Assistant.from_settings(settings)
    assistant.warm_up()
    answer = assistant.answer("居住证办理时限是多少个工作日")
    assert "7个工作日" in answer.text
    [cite, *_] = answer.citations
    assert cite.doc_id == "notice" and cite.doc_number == "京政办发〔2026〕15号"
    chunk = answer.hits[0].chunk
    [page] = chunk.metadata["ocr"]["pages"]
    assert page["confidence"] > 0.9 and not page["review"]
