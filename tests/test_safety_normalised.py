"""PII masking on disguised values (full-width, zero-width, spaced, dotted) and on long texts (issue 15, finding 6)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.safety import mask_pii

ID = "11010519491231002X"
CARD = "6222021234567890128"


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("手机１３８１２３４５６７８", "１３８１２３４５６７８"),
        ("身份证１１０１０５１９４９１２３１００２Ｘ", "１１０１０５１９４９１２３１００２Ｘ"),
        ("身份证 110101 19900307 8515", "110101 19900307 8515"),
        ("电话 138\u200b1234\u200b5678", "1234"),
        ("电话 138.1234.5678", "138.1234.5678"),
        ("卡号 6222 0212 3456 7890 128", "3456 7890"),
        ("电话１３８－１２３４－５６７８", "１２３４"),
    ],
)
def test_disguised_values_are_masked(text: str, hidden: str) -> None:
    masked = mask_pii(text)
    assert hidden not in masked, masked
    assert "*" in masked


def test_spaced_id_keeps_its_recognisable_ends() -> None:
    assert mask_pii("身份证 110101 19900307 8515") == "身份证 110101********8515"


def test_neighbouring_numbers_still_mask_the_phone() -> None:
    assert "13812345678" not in mask_pii("电话 13812345678 12345")


def test_ordinary_text_is_untouched() -> None:
    text = "发布日期2024.03.01，办理时限20个工作日，咨询电话020-38356454，第1.5条，１２３４５热线。"
    assert mask_pii(text) == text


@pytest.mark.parametrize(
    "unit",
    ["a" * 59_999 + "@", "13812345678 ", "1 " * 10, "x.y@example.com ", ID + " ", "１３８\u200b", "a.b-c_d%"],
)
def test_masking_is_linear(unit: str) -> None:
    text = (unit * (60_000 // len(unit) + 1))[:60_000]
    started = time.perf_counter()
    mask_pii(text)
    assert time.perf_counter() - started < 1.0


def test_answers_quoting_a_card_number_are_masked(tmp_path: Path) -> None:
    from _api_support import api_settings

    from assistant.ingest.build import build_index_from_documents
    from assistant.pipeline import Assistant
    from assistant.types import Document, Section

    text = f"退款将退回至申请人银行卡，示例卡号{CARD}，身份证号{ID}。退款办理时限为五个工作日。"
    doc = Document(
        id="faq-refund",
        title="退款怎么办理？",
        type="faq",
        text="退款怎么办理？\n" + text,
        sections=[Section("退款怎么办理？", text, "faq")],
    )
    settings = api_settings(tmp_path)
    # the answer guard (on by default) withholds a sentence with an account number that no official
    # field gives; switched off here so this test sees the masking layer alone
    settings.screening.output = False
    build_index_from_documents([doc], settings.index_dir, settings)
    assistant = Assistant.from_settings(settings)
    assistant.warm_up()
    answer = assistant.answer("退款怎么办理？退回到哪张银行卡？")
    quoted = answer.text + "".join(c.snippet for c in answer.citations)
    assert "退款" in quoted
    assert CARD not in quoted and ID not in quoted
