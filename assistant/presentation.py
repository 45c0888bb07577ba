"""How an answer is shown: snippets, clarify options as text, the 来源 footer, the kiosk's short form.

One home for every text shaping the channels share; routes call these instead of writing their own.
Pure functions over ``types``; nothing here decides *what* to answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from .text import split_sentences
from .types import Answer, Citation, Clarify

SNIPPET_CHARS = 160  # a citation's or search hit's snippet, "…" included
KIOSK_ANSWER_CHARS = 120  # a kiosk screen shows this much of an answer; the rest is behind "more"
KIOSK_SNIPPET_CHARS = 60
KIOSK_QR_LINKS = 3
MAX_QR_URL_CHARS = 512  # the server draws QR codes for http(s) URLs up to this long (``api/qr.py``)
FOOTER_HEAD = "\n\n来源："


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` when it fits in ``limit`` characters, else its opening cut with … (``limit`` in all)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clarify_text(c: Clarify) -> str:
    """A clarifying question with its options numbered, one per line (plain chat UIs render no buttons)."""
    return "\n".join([c.question] + [f"{i}. {o.label}" for i, o in enumerate(c.options, 1)])


def sources_footer(citations: Sequence[Citation]) -> str:
    """``\\n\\n来源：\\n[1] 标题（文号） url`` lines; empty when nothing is cited."""
    if not citations:
        return ""
    lines = []
    for c in citations:
        line = f"[{c.n}] {c.title}"
        if c.doc_number:
            line += f"（{c.doc_number}）"
        if c.url:
            line += f" {c.url}"
        lines.append(line)
    return FOOTER_HEAD + "\n" + "\n".join(lines)


def without_footer(text: str) -> str:
    """An earlier reply as the client sends it back, without the footer ``sources_footer`` added."""
    return text.split(FOOTER_HEAD, 1)[0]


def short_answer(text: str, limit: int = KIOSK_ANSWER_CHARS) -> str:
    """The first sentences of ``text`` that fit in ``limit`` characters (at least one, cut with … if needed)."""
    out = ""
    for sentence in split_sentences(text):
        if out and len(out) + len(sentence) > limit:
            break
        out += sentence
    out = out or text.strip()
    return out if len(out) <= limit else out[: limit - 1] + "…"


def qr_url_ok(url: str) -> bool:
    """Whether a QR code is offered and drawn for ``url``: http(s) and at most ``MAX_QR_URL_CHARS`` long."""
    return url.startswith(("http://", "https://")) and len(url) <= MAX_QR_URL_CHARS


def qr_links(answer: Answer, max_links: int = KIOSK_QR_LINKS) -> list[dict[str, str]]:
    """URLs worth scanning on a kiosk: a hand-off's self-service link or the service's online 办理 link
    first, then cited sources."""
    found: list[tuple[str, str]] = []
    if answer.handoff is not None and answer.handoff.service_url:  # an individual case's self-service route
        found.append(("自助查询：" + answer.handoff.service, answer.handoff.service_url))
    if answer.card is not None and answer.card.online_url:
        found.append(("在线办理：" + answer.card.title, answer.card.online_url))
    found += [(c.title, c.url) for c in answer.citations if c.url]
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for label, url in found:
        if url in seen or not qr_url_ok(url):
            continue
        seen.add(url)
        links.append({"label": label, "url": url, "svg": "/v1/qr?url=" + quote(url, safe="")})
    return links[:max_links]


def kiosk_fields(answer: Answer) -> dict[str, Any]:
    """What a kiosk reply adds or replaces: a short answer, the full one, QR links, short snippets."""
    return {
        "answer": short_answer(answer.text),
        "full_answer": answer.text,
        "qr": qr_links(answer),
        "citations": [
            {**c.to_dict(), "snippet": short_answer(c.snippet, KIOSK_SNIPPET_CHARS)} for c in answer.citations
        ],
    }
