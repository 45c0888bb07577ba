"""PII masking for logs, stored sessions, echoed text and answers: 身份证号, 手机号, 银行卡号, email addresses.

Rule-based: 18-digit (and 15-digit first-generation) ID numbers are matched by their birth-date
shape (checksum not required: over-masking is cheap), a 16–19 digit number counts as a bank card
only when it passes the Luhn check, and a phone number only as 1[3-9]xxxxxxxxx not embedded in a
longer digit run. Masks keep enough of the value to be recognisable to its owner.

Matching runs on a normalised view of the text, mapped back to the original positions: NFKC folds
full-width digits and letters (１３８… → 138…), zero-width characters are dropped, and a second view
also drops single spaces, dots and dashes between digits (``110101 19900307 8515``,
``138.1234.5678``). Both views are searched; overlaps are resolved by kind (email, ID, card, phone)
with a bitmap, so masking stays linear in the text length.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .types import Answer

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
# The look-behind and the possessive ``++`` make each run of address characters be tried once
# (a plain ``[...]+@`` retries every suffix of a long run: quadratic).
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)*\.[A-Za-z]{2,}\b"
)

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff\u00ad\u180e")
_NUMBER_SEPARATORS = frozenset(" .-")  # after NFKC: full-width space, ． and － fold to these


@dataclass(frozen=True)
class PIIMatch:
    """One detected piece of personal data; ``start``/``end`` index the original text."""

    kind: str  # id_card | phone | bank_card | email
    start: int
    end: int
    text: str  # the normalised value (ASCII digits, no separators for numbers)


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


def _normalised(text: str) -> tuple[str, list[int]]:
    """NFKC-folded ``text`` without zero-width characters, and each output character's original index."""
    if unicodedata.is_normalized("NFKC", text) and _ZERO_WIDTH.isdisjoint(text):
        return text, list(range(len(text)))
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch < "\x80":
            chars.append(ch)
            where.append(i)
        elif ch not in _ZERO_WIDTH:
            for folded in unicodedata.normalize("NFKC", ch):
                chars.append(folded)
                where.append(i)
    return "".join(chars), where


def _joined(text: str, where: list[int]) -> tuple[str, list[int]]:
    """``text`` with single spaces/dots/dashes between two digits removed (``138.1234.5678`` → one number)."""
    chars: list[str] = []
    kept: list[int] = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch in _NUMBER_SEPARATORS and 0 < i < last and text[i - 1].isdigit() and text[i + 1].isdigit():
            continue
        chars.append(ch)
        kept.append(where[i])
    return "".join(chars), kept


_RULES: tuple[tuple[str, re.Pattern[str], Callable[[str], bool]], ...] = (
    ("email", _EMAIL, lambda s: True),
    # date-shaped: mask even with a typo'd checksum (over-masking is cheap)
    ("id_card", _ID18, lambda s: True),
    ("id_card", _ID15, lambda s: True),
    ("bank_card", _CARD, lambda s: luhn_ok(re.sub(r"\D", "", s))),
    ("phone", _PHONE, lambda s: True),
)


def find_pii(text: str) -> list[PIIMatch]:
    """All non-overlapping PII spans in ``text``, in order (emails, then ID cards win over cards and phones)."""
    if not text:
        return []
    folded, where = _normalised(text)
    views = [(folded, where)]
    joined = _joined(folded, where)
    if joined[0] != folded:
        views.append(joined)
    taken = bytearray(len(text))
    found: list[PIIMatch] = []
    for kind, pattern, ok in _RULES:
        for view, index in views:
            for m in pattern.finditer(view):
                start, end = index[m.start()], index[m.end() - 1] + 1
                if taken.find(1, start, end) != -1 or not ok(m.group()):
                    continue
                taken[start:end] = b"\x01" * (end - start)
                value = m.group() if kind == "email" else re.sub(r"[^0-9Xx+]", "", m.group())
                found.append(PIIMatch(kind, start, end, value))
    return sorted(found, key=lambda f: f.start)


def _mask_digits(digits: str, keep_head: int, keep_tail: int) -> str:
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
    digits = re.sub(r"\D", "", match.text)[-11:]
    return digits[:3] + "****" + digits[-4:]


def mask_pii(text: str) -> str:
    """``text`` with every detected PII value masked, e.g. 13812345678 → 138****5678 (also １３８… and 138.1234.5678)."""
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


def mask_answer(answer: Answer) -> Answer:
    """``answer`` with PII masked in its text, quoted snippets and card rows (in place; returned for chaining).

    Sources are public documents, but one may quote a person's card or ID number; contact rows
    (``phone``) of a service card are left as published.
    """
    answer.text = mask_pii(answer.text)
    answer.citations = [replace(c, snippet=mask_pii(c.snippet)) for c in answer.citations]
    if answer.card is not None:
        for row in answer.card.fields:
            if row.key != "phone":
                row.value = mask_pii(row.value)
                row.items = [mask_pii(item) for item in row.items]
    return answer


__all__ = ["PIIMatch", "contains_pii", "find_pii", "luhn_ok", "mask_answer", "mask_pii", "valid_id18"]
