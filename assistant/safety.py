"""PII masking for logs, stored sessions and echoed text: 身份证号, 手机号, 银行卡号, email addresses.

Rule-based: 18-digit (and 15-digit first-generation) ID numbers are matched by their birth-date
shape (checksum not required: over-masking is cheap), a 16–19 digit number counts as a bank card
only when it passes the Luhn check, and a phone number only as 1[3-9]xxxxxxxxx not embedded in a
longer digit run. Masks keep enough of the value to be recognisable to its owner.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_ID18 = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_ID15 = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![0-9A-Za-z])"
)
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class PIIMatch:
    """One detected piece of personal data."""

    kind: str  # id_card | phone | bank_card | email
    start: int
    end: int
    text: str


def valid_id18(number: str) -> bool:
    """GB 11643 checksum of an 18-character resident ID number."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    """Luhn checksum (bank card numbers)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def find_pii(text: str) -> list[PIIMatch]:
    """All non-overlapping PII spans in ``text``, in order (ID cards win over cards and phones)."""
    found: list[PIIMatch] = []

    def add(kind: str, m: re.Match[str], ok: Callable[[str], bool] = lambda s: True) -> None:
        if not ok(m.group()):
            return
        if any(m.start() < f.end and f.start < m.end() for f in found):
            return
        found.append(PIIMatch(kind, m.start(), m.end(), m.group()))

    for m in _EMAIL.finditer(text):
        add("email", m)
    for m in _ID18.finditer(text):
        add("id_card", m)  # date-shaped: mask even with a typo'd checksum (over-masking is cheap)
    for m in _ID15.finditer(text):
        add("id_card", m)
    for m in _CARD.finditer(text):
        add("bank_card", m, lambda s: luhn_ok(re.sub(r"\D", "", s)))
    for m in _PHONE.finditer(text):
        add("phone", m)
    return sorted(found, key=lambda f: f.start)


def _mask_digits(value: str, keep_head: int, keep_tail: int) -> str:
    digits = re.sub(r"[\s-]", "", value)
    if len(digits) <= keep_head + keep_tail:
        return "*" * len(digits)
    return digits[:keep_head] + "*" * (len(digits) - keep_head - keep_tail) + digits[-keep_tail:]


def _mask(match: PIIMatch) -> str:
    if match.kind == "email":
        user, _, domain = match.text.partition("@")
        return (user[:1] or "*") + "***@" + domain
    if match.kind == "id_card":
        return _mask_digits(match.text, 6, 4)
    if match.kind == "bank_card":
        return _mask_digits(match.text, 4, 4)
    digits = re.sub(r"\D", "", match.text)
    digits = digits[-11:]
    return digits[:3] + "****" + digits[-4:]


def mask_pii(text: str) -> str:
    """``text`` with every detected PII value masked, e.g. 13812345678 → 138****5678."""
    if not text:
        return text
    out: list[str] = []
    pos = 0
    for m in find_pii(text):
        out.append(text[pos : m.start])
        out.append(_mask(m))
        pos = m.end
    out.append(text[pos:])
    return "".join(out)


def contains_pii(text: str) -> bool:
    return bool(find_pii(text))


__all__ = ["PIIMatch", "contains_pii", "find_pii", "luhn_ok", "mask_pii", "valid_id18"]
