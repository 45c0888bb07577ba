"""The default answerer: quotes the best-supported source text verbatim, cites it, builds guide cards.

No model. FAQ / page hits: the top document's passage (whole when short, else a window around the
best chunk, cut at a sentence end). Guides: a service card plus the rows the question asks about.
Policies and laws: the most relevant articles (条) of the best chunk. Up to ``max_citations``
distinct current documents are cited; the quoted one is [1].
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering import cards
from assistant.answering.base import ChunkSource
from assistant.answering.citations import DocGroup, group_by_doc, make_citation
from assistant.answering.grounding import bigrams
from assistant.answering.handoff import build_handoff
from assistant.config import Settings
from assistant.synonyms import curated, expand_query
from assistant.text import split_sentences
from assistant.types import Answer, Card, Chunk, Citation, Hit

MAX_ANSWER_CHARS = 800  # longer passages are cut at a sentence end
_ARTICLE = re.compile(r"(?=第[一二三四五六七八九十百千零〇\d]+条)")
_CHUNK_NO = re.compile(r"#(\d+)$")
# a notice's cover letter: addressees, "现印发给你们，请遵照执行", signature and date lines (the citation
# carries the issuer and date); dropped from quotes
_COVER = re.compile(
    r"现印发给你们|请遵照执行|请认真贯彻|现[就将]有关事项通知如下|^各[^。]{0,60}：$|公开方式|印发$"
    r"|^（联系[^）]*）$|^\d{4}年\s*\d{1,2}月\s*\d{1,2}\s*日$|^[\u4e00-\u9fff ]{2,30}(?:局|委员会|厅|办公室|人民政府|中心)$"
)
_CONTACT = re.compile(r"联系科室|联系电话|联系人")  # kept, but a quote does not start there
# questions that ask for a figure or a date, whose answer is a line with numbers in it
_WANTS_FIGURE = re.compile(r"多少|几[天个年月次岁号]|标准|金额|什么时候|何时|时间|期限|多久|多长")
_HAS_FIGURE = re.compile(r"\d")
_SPACE = re.compile(r"\s+")
# words that mark a sentence as carrying the fact an aspect asks for (card key → cue); the lead line
# prefers such a sentence (``lead_sentence``)
_CUES: dict[str, re.Pattern[str]] = {
    "materials": re.compile(r"材料|提交|提供|携带|证明|证件|申请表"),
    "location": re.compile(r"向.{1,20}(?:申请|申领|提出|办理)|地点|窗口|大厅|派出所|服务中心|机构"),
    "time_limit": re.compile(
        r"\d+\s*(?:个)?(?:工作日|日|天|个月|月|年)|[一二三四五六七八九十]+(?:个)?(?:工作日|日|天|个月)|期限|时限|最长"
    ),
    "fees": re.compile(r"\d+(?:\.\d+)?\s*元|收费|费用|免费|免交|减免|补贴|贴息|%"),
    "phone": re.compile(r"电话|热线|\d{3,4}-\d{7,8}|12345"),
    "conditions": re.compile(r"条件|符合|具备|周岁|以上|以下|满\d|应当|可以"),
    "process": re.compile(r"[应可]当?以?向.{1,30}(?:申请|申领|提交|提出|办理)|提交|携带|申领"),
}
LEAD_MAX_CHARS = 150  # a lead sentence longer than this is cut at a clause end
LEAD_OPENING_CHARS = 60  # the part of a quote a reader takes in first (about one sentence)
_LEAD_MIN_SCORE = 0.3  # below: no lead line, the quote alone
_LEAD_IN_PLACE = 40  # a lead found this early in the quote is not repeated
_LEAD_MARGIN = 0.1  # a lead must cover this much more of the question than the quote's opening
_CLAUSE_END = re.compile(r"[，；：,;]")
_MOVE_MARGIN = 0.15  # a later paragraph must cover this much more of the question to be quoted first
GAP = "……"  # the line between two quoted chunks that are not neighbours


def chunk_no(chunk: Chunk) -> int:
    m = _CHUNK_NO.search(chunk.id)
    return int(m.group(1)) if m else 0


def merge_overlapping(texts: Sequence[str], max_overlap: int = 200) -> str:
    """Concatenate consecutive chunk texts, removing the overlap the chunker repeated."""
    out = ""
    for t in texts:
        if not out:
            out = t
            continue
        k = min(len(out), len(t), max_overlap)
        while k > 0 and not out.endswith(t[:k]):
            k -= 1
        sep = "" if k or out.endswith(("\n", "。")) else "\n"
        out += sep + t[k:]
    return out


def cut_at_sentence(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """``text`` up to ``limit`` chars, ending at a sentence end when one exists in the window."""
    if len(text) <= limit:
        return text
    kept = ""
    for s in split_sentences(text):
        if len(kept) + len(s) > limit:
            break
        kept += s if kept.endswith("\n") or not kept else ("" if kept[-1] in "。！？；!?;" else "\n") + s
    return kept or text[:limit] + "…"


def match_scores(question: str, texts: Sequence[str]) -> list[float]:
    """How well each text answers ``question``: the share of its bigrams (colloquial terms expanded with
    the synonym table) found in the text, +0.1 for a text with numbers when the question asks for a
    figure or date (多少 / 几天 / 标准 / 什么时候 …)."""
    qb = bigrams(expand_query(question, curated()))  # once, not per text
    wants_figure = bool(_WANTS_FIGURE.search(question))
    return [
        (len(qb & bigrams(t)) / len(qb) if qb else 0.0)
        + (0.1 if wants_figure and _HAS_FIGURE.search(t) else 0.0)
        for t in texts
    ]


def lead_sentence(question: str, texts: Sequence[str], opening: str = "") -> str:
    """The sentence of ``texts`` that best states what ``question`` asks, verbatim ("" when none fits).

    Only for a question that asks an aspect (``cards.question_aspects``: 材料 / 多久 / 多少钱 / 条件 …).
    Scored by ``match_scores`` (question bigrams, a figure when one is asked) plus 0.15 when the
    sentence carries a cue of that aspect (``_CUES``: 材料 → 提交/证明, 多久 → N个工作日, 多少钱 → N元,
    条件 → 符合/周岁 …); it must carry a cue, and beat every cue-carrying sentence of ``opening`` (what
    the answer would show first anyway) by ``_LEAD_MARGIN``. Over ``LEAD_MAX_CHARS`` it is cut at a clause end.
    """
    aspects = [k for k in cards.question_aspects(question) if k in _CUES]
    if not aspects:
        return ""
    seen: set[str] = set()
    sentences: list[str] = []
    for text in texts:
        for s in split_sentences(text):
            s = s.strip()
            if len(s) >= 8 and s not in seen and not _CONTACT.search(s) and not _COVER.search(s):
                seen.add(s)
                sentences.append(s)
    if not sentences:
        return ""
    cued = [any(_CUES[k].search(s) for k in aspects) for s in sentences]
    scores = [
        sc + (0.15 if c else 0.0) for sc, c in zip(match_scores(question, sentences), cued, strict=True)
    ]
    best = max(range(len(sentences)), key=lambda i: (cued[i], scores[i], -i))
    if not cued[best] or scores[best] < _LEAD_MIN_SCORE:
        return ""
    first = [s for s in split_sentences(opening) if s.strip()]
    if first and opening.rstrip()[-1:] not in "。！？；!?;":
        first = first[:-1]  # the opening was cut inside a sentence: that sentence is not shown whole
    if first:
        # only an opening sentence that carries the aspect's cue already answers (a definition does not)
        first_cued = [any(_CUES[k].search(s) for k in aspects) for s in first]
        first_scores = match_scores(question, first)
        shown = max((sc + 0.15 for sc, c in zip(first_scores, first_cued, strict=True) if c), default=0.0)
        if shown >= scores[best] - _LEAD_MARGIN:
            return ""
    return _cut_clause(sentences[best], LEAD_MAX_CHARS)


def _cut_clause(sentence: str, limit: int) -> str:
    """``sentence`` when it fits in ``limit`` characters, else cut after its last clause end that does."""
    if len(sentence) <= limit:
        return sentence
    ends = [m.end() for m in _CLAUSE_END.finditer(sentence[:limit])]
    return sentence[: ends[-1]] if ends and ends[-1] >= limit // 3 else sentence[:limit]


def best_paragraphs(question: str, text: str, limit: int, drop: Sequence[str] = ()) -> str:
    """Text without 条 articles: ``limit`` chars from the paragraph that best matches the question.

    A notice's cover letter and the paragraphs in ``drop`` (the title and 文号 the answer already
    names) are left out. The rest are scored by ``match_scores``; contact lines score below all. The
    quote starts at the first paragraph unless a later one covers clearly more of the question, and
    then at that paragraph's heading (一、… / （二）…) when it has one, so its figures keep their label.
    """
    skip = {_SPACE.sub("", d) for d in drop if d and d.strip()}
    paras = [p.strip() for p in text.split("\n") if p.strip() and _SPACE.sub("", p) not in skip]
    paras = [p for p in paras if not _COVER.search(p)] or paras
    if sum(len(p) + 1 for p in paras) <= limit:
        return "\n".join(paras)
    scores = [
        s - 1.0 if _CONTACT.search(p) else s
        for p, s in zip(paras, match_scores(question, paras), strict=True)
    ]
    start = max(range(len(paras)), key=lambda i: (scores[i], -i))
    if scores[start] - scores[0] < _MOVE_MARGIN:  # no clear winner: read from the top
        start = 0
    prev = paras[start - 1] if start else ""
    heading = prev != GAP and len(prev) <= 30 and not prev.endswith(("。", "；", "："))
    if prev and heading and not _CONTACT.search(prev):
        start -= 1
    window: list[str] = []
    size = 0
    for p in paras[start:]:
        window.append(p)
        size += len(p) + 1
        if size > limit:
            break
    return cut_at_sentence("\n".join(window), limit)


class ExtractiveAnswerer:
    """Grounded extractive answers: verbatim source text with [n] markers, plus cards for guides."""

    name = "extractive"

    def __init__(self, settings: Settings, chunk_source: ChunkSource | None = None) -> None:
        self.settings = settings
        self.chunk_source = chunk_source

    def warm_up(self) -> None:
        """Nothing to load."""

    # ------------------------------------------------------------------ public

    @classmethod
    def from_settings(cls, settings: Settings, chunk_source: ChunkSource | None = None) -> ExtractiveAnswerer:
        return cls(settings, chunk_source)

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        groups = group_by_doc(hits)
        if not groups:
            handoff = build_handoff("no_knowledge", [], self.settings)
            return Answer(text=handoff.message, answered_by="handoff", handoff=handoff, question=question)
        top = groups[0]
        text, snippet, card = self.compose(question, top)
        citations = self.citations(groups, snippet)
        return Answer(
            text=text, answered_by="extractive", citations=citations, card=card, question=question, hits=hits
        )

    # ------------------------------------------------------------------ parts

    def compose(self, question: str, group: DocGroup) -> tuple[str, str, Card | None]:
        """(answer text with [1] marker, the source text it quotes, card or None) for the top document."""
        kind = group.type
        if kind == "guide":
            return self._guide(question, group)
        if kind not in ("law", "policy"):
            # an FAQ or page answers its own question: quoted as it is (a lead line above it cost
            # char-F1 on the Beijing FAQs and helped no colloquial question; docs/answering.md)
            quoted = self._passage(group)
            return f"{quoted}[1]", quoted, None
        quoted = self._articles(question, group)
        meta = group.top.chunk.metadata
        number = str(meta.get("doc_number", "") or "")
        title = group.top.chunk.title
        source = f"根据《{title}》{f'（{number}）' if number else ''}：" if title else ""
        lead = self._lead(question, group, quoted)
        if not lead:
            return f"{source}{quoted}[1]", quoted, None
        # the answer first, verbatim, then the articles it comes from; the snippet holds both
        snippet = quoted if lead in quoted else f"{lead}\n{quoted}"
        return f"{source}{lead}[1]\n{quoted}[1]", snippet, None

    def _lead(self, question: str, group: DocGroup, quoted: str) -> str:
        """The lead line of a quote: the sentence that states what was asked, unless the quote already
        opens with it (within its first ``_LEAD_IN_PLACE`` characters)."""
        texts = [quoted] + [self._strip_question(h.chunk, group) for h in group.hits[:3]]
        lead = lead_sentence(question, texts, opening=quoted[:LEAD_OPENING_CHARS])
        at = quoted.find(lead) if lead else -1
        return "" if not lead or 0 <= at < _LEAD_IN_PLACE else lead

    def doc_chunks(self, group: DocGroup) -> list[Chunk]:
        """All chunks of the document in order (from the chunk source, else the hits we have)."""
        chunks: list[Chunk] = []
        if self.chunk_source is not None:
            try:
                chunks = list(self.chunk_source(group.doc_id))
            except KeyError:
                chunks = []
        if not chunks:
            chunks = list({h.chunk.id: h.chunk for h in group.hits}.values())
        return sorted(chunks, key=chunk_no)

    def _passage(self, group: DocGroup) -> str:
        """The passage of an FAQ / page: whole if short, else a window starting near the best chunk."""
        chunks = self.doc_chunks(group)
        best = chunk_no(group.top.chunk)
        nos = [chunk_no(c) for c in chunks]
        start = 0
        # Start at the document's beginning if the best chunk fits in the window from there.
        if sum(len(c.text) for c in chunks if chunk_no(c) <= best) > MAX_ANSWER_CHARS:
            start = nos.index(best) if best in nos else 0
        window: list[str] = []
        prev: int | None = None
        complete = True
        for i, c in enumerate(chunks[start:]):
            n = chunk_no(c)
            if prev is not None and n != prev + 1:
                complete = False  # a gap: we do not know the text in between
                break
            window.append(self._strip_question(c, group))
            prev = n
            if len(merge_overlapping(window)) > MAX_ANSWER_CHARS:
                complete = start + i + 1 == len(chunks)
                break
        text = merge_overlapping(window).strip()
        if complete and start == 0 and len(text) <= MAX_ANSWER_CHARS:
            return text
        return cut_at_sentence(text, min(len(text) - 1, MAX_ANSWER_CHARS))

    @staticmethod
    def _strip_question(chunk: Chunk, group: DocGroup) -> str:
        """FAQ chunks open with the question ("问：…\n答：…" or a title line); the answer is what follows."""
        text = chunk.text.strip()
        first, nl, rest = text.partition("\n")
        if nl and first.startswith("问：") and rest.startswith("答："):
            return rest[2:].strip()
        if nl and rest.strip() and first.strip() in (chunk.title, chunk.section) and group.type == "faq":
            return rest.strip()
        return text

    def _articles(self, question: str, group: DocGroup) -> str:
        """The most relevant articles (条) of the best chunks, in document order."""
        best_hits = sorted(group.hits[:2], key=lambda h: chunk_no(h.chunk))
        text = (
            merge_overlapping([h.chunk.text for h in best_hits])
            if len(best_hits) > 1
            else group.top.chunk.text
        )
        articles = [a.strip() for a in _ARTICLE.split(text) if a.strip()]
        if len(articles) <= 1:
            # paragraphs are not numbered like 条: mark the gap between two chunks that are not neighbours
            if len(best_hits) > 1 and chunk_no(best_hits[1].chunk) != chunk_no(best_hits[0].chunk) + 1:
                text = f"{best_hits[0].chunk.text.strip()}\n{GAP}\n{best_hits[1].chunk.text.strip()}"
            meta = group.top.chunk.metadata
            drop = (group.top.chunk.title, str(meta.get("doc_number", "") or ""))
            return best_paragraphs(question, text, 600, drop)
        scores = match_scores(question, articles)
        ranked = sorted(range(len(articles)), key=lambda i: -scores[i])
        keep = sorted(ranked[:2])
        if scores[ranked[1]] < 0.5 * scores[ranked[0]]:
            keep = [ranked[0]]
        return cut_at_sentence("\n".join(articles[i] for i in keep), 600)

    def _guide(self, question: str, group: DocGroup) -> tuple[str, str, Card]:
        chunks = self.doc_chunks(group)
        meta = group.top.chunk.metadata
        fields = meta.get("fields") if isinstance(meta.get("fields"), dict) else None
        if not fields:
            fields = cards.fields_from_chunks(chunks)
        card = cards.build_card(meta, fields, title=group.top.chunk.title)
        lines = cards.card_text(card, question)
        if not lines:  # a guide without structured fields: quote its best chunk
            quoted = cut_at_sentence(group.top.chunk.text.strip(), 600)
            return f"{quoted}[1]", quoted, card
        dept = f"（{card.department}）" if card.department else ""
        text = f"《{card.title}》{dept}：\n" + "\n".join(lines) + "[1]"
        # The snippet is the guide's own text, headed by its title and department as the header line quotes.
        quoted = f"{card.title}{dept}\n" + merge_overlapping([c.text for c in chunks])
        return text, quoted[:2000], card

    def citations(self, groups: Sequence[DocGroup], quoted: str) -> list[Citation]:
        """[1] = the quoted document (snippet = the quoted source text); then the next best documents."""
        out = [make_citation(1, groups[0].top, quoted)]
        for g in groups[1 : self.settings.answer.max_citations]:
            out.append(make_citation(len(out) + 1, g.top))
        return out
