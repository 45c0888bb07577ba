"""PII masking: ID cards, phones, bank cards, email."""

from __future__ import annotations

from assistant.safety import contains_pii, find_pii, luhn_ok, mask_pii, valid_id18

ID = "11010519491231002X"  # the GB 11643 example number (valid checksum)
CARD = "6222021234567890128"  # Luhn-valid


def test_checksums() -> None:
    assert valid_id18(ID) and not valid_id18("110105194912310021")
    assert luhn_ok(CARD) and not luhn_ok("6222021234567890123")


def test_masks_each_kind() -> None:
    text = f"我的身份证{ID}，手机13812345678，银行卡{CARD}，邮箱zhang.san@example.com。"
    masked = mask_pii(text)
    assert ID not in masked and "110105********002X" in masked
    assert "138****5678" in masked
    assert "6222***********0128" in masked
    assert "z***@example.com" in masked
    assert {m.kind for m in find_pii(text)} == {"id_card", "phone", "bank_card", "email"}


def test_phone_with_country_code_and_separators() -> None:
    assert mask_pii("电话+86 138-1234-5678") == "电话138****5678"


def test_leaves_ordinary_numbers_alone() -> None:
    text = "办理时限20个工作日，咨询电话020-38356454，文号穗府办规〔2024〕13号，订单6222021234567890123。"
    assert mask_pii(text) == text and not contains_pii(text)


def test_empty() -> None:
    assert mask_pii("") == ""
