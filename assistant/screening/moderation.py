"""What the pipeline does with screening: polite replies to unsafe messages, withheld answer text, labels, logs.

``Moderator`` is the one object ``pipeline.Assistant`` calls:

- ``screen_input(message)``: lexicon hits, text addressed to an AI and fraud scripts in a citizen's
  message → a category-appropriate reply (``answered_by = "screened"``) with a hand-off where a person
  is needed (诈骗 → 110 / 96110, 自伤 → 12356, 暴恐/违法犯罪 → 110), instead of an answer;
- ``screen_output(answer, hits)``: the lexicon (direction ``output``) and the guard (``guard.py``) over
  the answer; offending sentences are withheld, offending snippets blanked, an untrusted card
  dropped, and ``moderation`` flagged; when too little is left the whole answer is replaced by a
  refusal (``answered_by = "screened"``), otherwise the rest is sent with a note;
- ``label(answer)``: the AI-content label (``label.text``; curated answers: ``label.curated_text``).

Every hit is logged as one JSON line with direction, categories, lexicon entries and guard reasons —
never the citizen's text or the numbers found.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..config import Settings
from ..text import split_sentences
from ..types import Answer, Handoff, Hit, Label, Moderation
from . import guard
from .base import CATEGORIES, Screener, make_screener
from .patterns import fraud_flags, injection_flags

log = logging.getLogger("assistant.screening")

INJECTION = "指令注入"
WITHHELD_NOTE = "（部分内容未通过内容安全审核，已隐去。）"
MIN_KEPT_CHARS = 20  # less answer text than this left after withholding: the whole answer is withheld


@dataclass(frozen=True)
class Reply:
    """The reply to a screened message of one category; ``hotline`` "" uses ``answer.hotline``."""

    text: str
    hotline: str = ""
    channels: tuple[str, ...] = ()


REPLIES: dict[str, Reply] = {
    "暴恐": Reply(
        "您的消息涉及暴力或危害公共安全的内容，我无法提供帮助。如发现危害公共安全的线索或遇到紧急情况，请立即拨打110报警。",
        "110",
        ("110报警",),
    ),
    "自伤": Reply(
        "听起来您现在很难受，您并不孤单。请拨打12356心理援助热线，和专业人员聊一聊；如果有生命危险，请立即拨打120或110。",
        "12356",
        ("12356心理援助热线", "120急救", "110报警"),
    ),
    "违法犯罪": Reply(
        "抱歉，我不能提供涉及违法犯罪的信息。如需了解相关法律规定，可以换个方式提问；如发现违法犯罪线索，请拨打110报警或向公安机关举报。",
        "110",
        ("110报警",),
    ),
    "政治敏感": Reply(
        "抱歉，这个话题不在政务服务咨询范围内，我无法回答。我可以为您解答办事指南、政策法规方面的问题；其他诉求可拨打{hotline}政务服务便民热线。"
    ),
    "诈骗/广告": Reply(
        "您的消息含有疑似诈骗或广告的内容。政府部门不会要求市民向个人账户或“安全账户”转账，也不会通过电话索要验证码。"
        "如果您遇到可疑情况，请立即拨打110报警，或拨打96110反诈预警专线咨询。",
        "96110",
        ("96110反诈预警专线", "110报警"),
    ),
    "色情": Reply(
        "抱歉，我无法回应涉及色情低俗的内容。如需举报相关信息，可拨打12390扫黄打非举报电话或{hotline}热线。",
        "",
        ("12390扫黄打非举报电话",),
    ),
    "辱骂": Reply(
        "我理解您可能遇到了不顺心的事，请您文明用语，我会尽力帮您。您可以直接告诉我要办理或咨询的事项；需要人工服务请拨打{hotline}热线。"
    ),
    INJECTION: Reply(
        "我是政务服务智能助手，只依据政务知识库解答办事和政策问题，不能执行更改设定、身份或回答规则的指令。请直接告诉我您要咨询的事项。"
    ),
}
# a citizen who met a scam and asks about it (被骗了 / 是真的吗 / 怎么报警)
VICTIM = re.compile(
    r"被骗|骗了|上当|报警|举报|维权|追回|是真的吗|是不是真的|是不是诈骗|是诈骗吗|是骗子吗|可信吗|靠谱吗|怎么办"
)
FRAUD_HELP = (
    "这很可能是诈骗。政府部门和公检法机关不会要求市民向个人账户或“安全账户”转账，也不会通过电话、短信索要验证码或收取“解冻费”“保证金”。"
    "请不要转账或透露验证码；如已被骗，请立即拨打110报警，或拨打96110反诈预警专线咨询，并保留聊天记录、转账凭证等证据。"
)
DEFAULT_REPLY = Reply(
    "抱歉，您的消息未通过内容安全审核，我无法回答。如需帮助，请拨打{hotline}政务服务便民热线。"
)
OUTPUT_WITHHELD = (
    "抱歉，这个回答未通过内容安全审核，已被拦截。请换个方式提问，或拨打{hotline}政务服务便民热线咨询。"
)


def ranked(categories: Sequence[str]) -> list[str]:
    """Categories most serious first (shipped order, then injection, then others by name)."""
    order = {c: i for i, c in enumerate((*CATEGORIES, INJECTION))}
    unique = list(dict.fromkeys(categories))
    return sorted(unique, key=lambda c: (order.get(c, len(order)), c))


class Moderator:
    """Input screening, output screening + guard, and labels, as the pipeline applies them."""

    def __init__(self, settings: Settings, screener: Screener | None = None) -> None:
        self.settings = settings
        self.screener = screener if screener is not None else make_screener(settings.screening)

    def warm_up(self) -> None:
        self.screener.warm_up()

    # --- input -------------------------------------------------------------------------------

    def input_categories(self, text: str) -> tuple[list[str], list[str]]:
        """Categories of a citizen's message and the lexicon entries / pattern reasons behind them."""
        verdict = self.screener.screen(text, "input")
        categories = [h.category for h in verdict.hits]
        evidence = [h.term for h in verdict.hits]
        injected = injection_flags(text)
        if injected:
            categories.append(INJECTION)
            evidence += [f.reason for f in injected]
        fraud = fraud_flags(text)
        if fraud:
            categories.append("诈骗/广告")
            evidence += [f.reason for f in fraud]
        return ranked(categories), evidence

    def screen_input(self, text: str) -> Answer | None:
        """A polite reply when ``text`` is unsafe (``answered_by = "screened"``), else None."""
        if not self.settings.screening.input:
            return None
        categories, evidence = self.input_categories(text)
        if not categories:
            return None
        # Someone asking about a scam they met is not sending one: the same guidance, as a hand-off.
        victim = categories == ["诈骗/广告"] and bool(VICTIM.search(text))
        _log("input", categories, evidence + ["victim"] * victim)
        hotline = self.settings.answer.hotline
        reply = REPLIES.get(categories[0], DEFAULT_REPLY)
        message = (FRAUD_HELP if victim else reply.text).format(hotline=hotline)
        handoff = Handoff(
            reason="fraud" if victim else "screened",
            message=message,
            hotline=reply.hotline or hotline,
            channels=list(reply.channels) or [f"{hotline}热线"],
        )
        return Answer(
            text=message,
            answered_by="handoff" if victim else "screened",
            handoff=handoff,
            question=text,
            moderation=Moderation() if victim else Moderation(True, categories, "input"),
        )

    # --- output ------------------------------------------------------------------------------

    def screen_output(self, answer: Answer, hits: Sequence[Hit]) -> Answer:
        """``answer`` with unsafe sentences, snippets and fields withheld (in place; returned)."""
        if not self.settings.screening.output or answer.answered_by in ("screened", "curated"):
            return answer
        verdict = self.screener.screen(answer.text, "output")
        lexicon_bad = {h.start for h in verdict.hits}
        categories = [h.category for h in verdict.hits]
        contacts = guard.official_contacts(answer, hits, self.settings.screening)
        guarded = guard.check(answer, hits, contacts)
        kept = _kept_sentences(answer.text, set(guarded.withheld), lexicon_bad)
        snippets = self._clean_snippets(answer, hits, contacts)
        cleared = guard.clean_fields(answer, hits, contacts)
        if not (verdict.flagged or guarded.flagged or snippets or cleared):
            return answer
        if guarded.flagged or snippets or cleared:
            categories.append("诈骗/广告" if "payment" in guarded.reasons else "非官方联系方式")
        evidence = [h.term for h in verdict.hits] + list(guarded.reasons) + cleared
        _log("output", ranked(categories), evidence + ["snippet"] * bool(snippets))
        answer.moderation = Moderation(True, ranked(categories), "output")
        if not (verdict.flagged or guarded.flagged):
            # only a reference's snippet or an untrusted card went: the answer itself stands
            return answer
        text = _join(kept)
        if len(text) < MIN_KEPT_CHARS:
            hotline = self.settings.answer.hotline
            message = OUTPUT_WITHHELD.format(hotline=hotline)
            answer.text = message
            answer.card = None
            answer.clarify = None
            answer.handoff = Handoff("screened", message, hotline, [f"{hotline}热线"])
            answer.answered_by = "screened"
        else:  # the rest still answers: it keeps its answerer, the flag and the note say what went
            answer.text = text + "\n" + WITHHELD_NOTE
        return answer

    def _clean_snippets(self, answer: Answer, hits: Sequence[Hit], contacts: guard.Contacts) -> int:
        """Blank citation snippets the answer text would not be allowed to say: from an untrusted
        document, with an unsafe word or an unofficial contact. (A trusted document's snippet is its
        own text, so the guard's verbatim exemption covers any payment wording in it.)"""
        untrusted = guard.untrusted_docs(hits)
        blanked = 0
        cleaned = []
        for c in answer.citations:
            bad = (
                c.doc_id in untrusted
                or self.screener.screen(c.snippet, "output").flagged
                or bool(guard.unofficial(c.snippet, contacts))
            )
            if bad:
                blanked += 1
                c = replace(c, snippet="（摘录未通过内容安全审核，已隐去）")
            cleaned.append(c)
        answer.citations = cleaned
        return blanked

    # --- label -------------------------------------------------------------------------------

    def label(self, answer: Answer) -> Answer:
        """Set ``answer.label``: human-reviewed (curated) answers are not AI-generated."""
        s = self.settings.label
        curated = answer.answered_by == "curated"
        answer.label = Label(ai_generated=not curated, text=s.curated_text if curated else s.text)
        return answer


def _kept_sentences(text: str, withheld: set[str], hit_starts: set[int]) -> list[str]:
    """The sentences of ``text`` that are neither withheld by the guard nor contain a lexicon hit."""
    kept: list[str] = []
    pos = 0
    for sentence in split_sentences(text):
        start = text.find(sentence, pos)
        end = start + len(sentence)
        pos = max(pos, end)
        if sentence not in withheld and not any(start <= h < end for h in hit_starts):
            kept.append(sentence)
    return kept


def _join(sentences: Sequence[str]) -> str:
    out = ""
    for s in sentences:
        out += s if not out or out.endswith(("\n", "。", "！", "？", "；")) else "\n" + s
    return out.strip()


def _log(direction: str, categories: Sequence[str], evidence: Sequence[str]) -> None:
    """One JSON line per screening event: categories and lexicon entries / reasons, never the text."""
    log.warning(
        json.dumps(
            {
                "event": "screening",
                "direction": direction,
                "categories": list(categories),
                "evidence": list(dict.fromkeys(evidence))[:10],
            },
            ensure_ascii=False,
        )
    )
