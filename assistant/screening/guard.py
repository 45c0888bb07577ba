"""The answer guard: no answer asks a citizen for money, or gives a contact no official source gives.

One home for the rule, run by ``moderation.py`` on every finished answer (extractive, LLM,
hand-off) before it leaves. A sentence is withheld when

- it asks the citizen to pay or transfer money to an account, card or QR code, or demands an advance
  fee (``patterns.asks_for_payment``), unless it is copied verbatim from a trusted source (official
  fee texts: 公积金 汇款 to the 管理部's 收款账户); or
- it gives a phone number, an account number or a URL that is not *official*.

Official contacts come from the cited, current, **trusted** documents only — a document is trusted
when ``patterns.document_flags`` finds no injection or fraud pattern in the text retrieved from it:

- the documents' metadata (``url``) and their service cards (咨询电话, 在线办理, 办理地点 — guide fields);
- the landlines and public hotlines in their text (``监督电话是010-…``); a mobile, 400/800 number,
  account number or link in body text is never enough, except in a guide's structured 办理地点/咨询方式
  section, where all of them count;
- ``screening.official_numbers`` (12345, 110, 96110 …) and hosts under ``screening.official_domains``.

So a number quoted in the body of an injected document is not official, and neither is anything a
model was talked into writing. The guard also clears a card's or hand-off's phone/URL fields that
fail the same test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from ..config import ScreeningSettings
from ..text import split_sentences
from ..types import Answer, Hit
from .patterns import asks_for_payment, document_flags

_PHONE = re.compile(
    r"(?<![\d-])(?:\(?0\d{2,3}\)?[-－ ]?\d{3,4}[- ]?\d{4}(?:[-转]\d{1,5})?"  # landline, optional extension
    r"|[48]00(?:[- ]?\d){7}"  # 400 / 800, any grouping
    r"|(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4})(?![\d])"  # mobile
)
# 5-digit public-service numbers (12345, 96110, 95598) count as phone numbers only after a phone word
_SHORT = re.compile(r"(?:电话|热线|拨打|致电|联系|咨询|专线|举报)[^。，,；;\d]{0,6}((?:1|9)\d{2,4})(?!\d)")
_ACCOUNT = re.compile(r"(?<!\d)(?:\d{12,22}|\d{4}(?:[ -]\d{4}){2,4}(?:[ -]\d{1,4})?)(?!\d)")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s，。；、）)\]】\"'<>]+"
    r"|(?<![@\w.])(?:[a-z0-9-]+\.)+(?:gov\.cn|com\.cn|org\.cn|cn|com|net|org|info|top|xyz|vip|cc)(?:/[^\s，。；、）)\]】\"'<>]*)?",
    re.I,
)
_MARKER = re.compile(r"\[\d{1,2}\]")
_ID_SHAPE = re.compile(r"^[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{5}[\dXx]?$")


@dataclass
class Contacts:
    """The numbers (digits only) and URL hosts an answer may give."""

    numbers: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    domains: tuple[str, ...] = ()

    def add_text(self, text: str, *, body: bool) -> None:
        """Contacts found in ``text``; ``body``: free text, where only landlines and hotlines count."""
        for m in _PHONE.finditer(text):
            digits = _digits(m.group())
            if body and (digits.startswith(("400", "800")) or _is_mobile(digits)):
                continue
            self.numbers.add(digits)
        for m in _SHORT.finditer(text):
            self.numbers.add(m.group(1))
        if not body:  # an account or a link in free text is never official
            self.numbers.update(_digits(m.group()) for m in _ACCOUNT.finditer(text))
            self.hosts.update(h for m in _URL.finditer(text) if (h := _host(m.group())))

    def number_ok(self, digits: str) -> bool:
        return any(digits == n or (len(digits) >= 7 and digits in n) for n in self.numbers)

    def host_ok(self, host: str) -> bool:
        if host in self.hosts:
            return True
        return any(host == d or host.endswith("." + d) for d in self.domains)


@dataclass(frozen=True)
class GuardVerdict:
    """What the guard found: the sentences to withhold and why (``payment`` | ``phone`` | ``account`` | ``url``)."""

    withheld: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.withheld)


def _digits(text: str) -> str:
    d = re.sub(r"\D", "", text)
    return d[2:] if d.startswith("86") and len(d) == 13 else d


def _is_mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


def _host(url: str) -> str:
    u = url if "://" in url else "http://" + url
    try:
        host = urlsplit(u).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


@lru_cache(maxsize=4096)
def trusted(text: str) -> bool:
    """A retrieved text is trusted when it carries no injection or fraud pattern (cached by text)."""
    return not document_flags(text)


def untrusted_docs(hits: Sequence[Hit]) -> set[str]:
    """Ids of documents some retrieved text of which carries an injection or fraud pattern."""
    return {h.doc_id for h in hits if not trusted(h.chunk.text)}


def official_contacts(answer: Answer, hits: Sequence[Hit], settings: ScreeningSettings) -> Contacts:
    """The contacts ``answer`` may give: see the module docstring."""
    contacts = Contacts(numbers=set(settings.official_numbers), domains=tuple(settings.official_domains))
    cited = {c.doc_id for c in answer.citations}
    docs = [h for h in hits if h.doc_id in cited] if cited else list(hits)
    untrusted = untrusted_docs(docs)
    for h in docs:
        if h.doc_id in untrusted:
            continue
        meta = h.chunk.metadata
        contacts.add_text(str(meta.get("url") or ""), body=False)
        for key in ("consult_phone", "phone", "complaint_phone"):
            contacts.add_text(str(meta.get(key) or ""), body=False)
        # a guide's structured 办理地点/咨询方式 section: every contact in it; other text: landlines
        # and public hotlines only (``add_text(body=True)``)
        contacts.add_text(h.chunk.text, body=h.chunk.kind != "place_contact")
    for c in answer.citations:
        if c.doc_id not in untrusted:
            contacts.add_text(c.url, body=False)
    card = answer.card
    if card is not None and card.doc_id not in untrusted:
        contacts.add_text(card.phone, body=False)
        contacts.add_text(card.online_url, body=False)
        for row in card.fields:
            if row.key in ("phone", "online_url", "location"):
                contacts.add_text(row.value, body=False)
    return contacts


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", _MARKER.sub("", text))


def unofficial(text: str, contacts: Contacts) -> list[str]:
    """Kinds of contacts in ``text`` that are not official: ``phone``, ``account``, ``url``."""
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _PHONE.finditer(text):
        spans.append(m.span())
        if not contacts.number_ok(_digits(m.group())):
            found.append("phone")
    for m in _SHORT.finditer(text):
        if not contacts.number_ok(m.group(1)):
            found.append("phone")
    for m in _ACCOUNT.finditer(text):
        digits = _digits(m.group())
        inside_phone = any(a <= m.start() and m.end() <= b for a, b in spans)
        if inside_phone or _ID_SHAPE.match(digits) or "*" in text[m.end() : m.end() + 1]:
            continue  # a phone number, or an ID number (masked later as PII)
        if not contacts.number_ok(digits):
            found.append("account")
    for m in _URL.finditer(text):
        host = _host(m.group())
        if host and not contacts.host_ok(host):
            found.append("url")
    return found


def check(answer: Answer, hits: Sequence[Hit], contacts: Contacts) -> GuardVerdict:
    """The sentences of ``answer.text`` to withhold, with their reasons (``hits``: the current hits;
    ``contacts``: ``official_contacts(answer, hits, settings)``)."""
    sources = [_plain(h.chunk.text) for h in hits if trusted(h.chunk.text)]
    withheld: list[str] = []
    reasons: list[str] = []
    for sentence in split_sentences(answer.text):
        why = unofficial(sentence, contacts)
        if asks_for_payment(sentence) and not _verbatim(sentence, sources):
            why.append("payment")
        if why:
            withheld.append(sentence)
            reasons.extend(why)
    return GuardVerdict(tuple(withheld), tuple(dict.fromkeys(reasons)))


def _verbatim(sentence: str, sources: Iterable[str]) -> bool:
    s = _plain(sentence)
    return len(s) >= 8 and any(s in src for src in sources)


def clean_fields(answer: Answer, hits: Sequence[Hit], contacts: Contacts) -> list[str]:
    """Drop a card built from an untrusted document, clear a hand-off phone that is not official;
    returns what was removed."""
    cleared: list[str] = []
    card = answer.card
    if card is not None and card.doc_id in untrusted_docs(hits):
        answer.card = None
        cleared.append("card")
    phone = answer.handoff.department_phone if answer.handoff is not None else ""
    if answer.handoff is not None and phone and unofficial(phone, contacts):
        answer.handoff.department_phone = ""
        cleared.append("handoff.department_phone")
    return cleared
