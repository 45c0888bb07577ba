"""The hand-off: what the citizen is told when a human must take over, and where to reach one.

``build_handoff`` writes the message for a reason (human requested, complaint, individual case, low
confidence, no knowledge, another region) with the configured hotline and message board, plus what
the knowledge base itself knows that helps (``find_route``):

- an **individual case** gets the self-service route: the matching 进度查询 / 在线办理 service item
  among the hits (its link and consult phone, read from the guide's fields), or else a sentence of
  an on-topic source that says where such a progress or result can be checked;
- a **complaint** gets the department a source names for that kind of complaint (a sentence such as
  "……可以向市场监督管理部门举报"), never one made up.

Every fact a route adds comes verbatim from a source, which the answer cites ([1]: ``route_citation``).
Deciding *when* to hand off is the decision order's job (``respond``) with the message classifier
(``classify``) and the intent model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.base import ChunkSource
from assistant.answering.cards import fields_from_chunks
from assistant.answering.citations import make_citation
from assistant.config import Settings
from assistant.query import Query
from assistant.synonyms import curated
from assistant.text import split_sentences, tokenize
from assistant.types import Citation, Handoff, Hit

_PHONE_IN_TEXT = re.compile(
    r"(?:咨询电话|联系电话|咨询热线|服务电话|电话)[:：]?\s*((?:0\d{2,3}-?)?\d{7,8}(?:转\d+)?|1[3-9]\d{9}|\d{5})"
)

MESSAGES = {
    "human_requested": "好的，正在为您转接人工服务。您也可以拨打{hotline}政务服务便民热线，或通过{board}留言。",
    "complaint": "您反映的情况涉及具体事项的核查处理，需要由相关部门调查后答复，智能助手无法代为处理。"
    "请拨打{hotline}政务服务便民热线，或通过{board}提交，工作人员会按程序转办并答复您。",
    "individual_case": "您咨询的是具体个案，需要工作人员结合实际情况核实后答复。"
    "请拨打{hotline}政务服务便民热线，或通过{board}留言，我们会转交相关部门办理。",
    "low_confidence": "抱歉，知识库中没有找到与您的问题直接相关的内容，为避免误导，暂不作答。"
    "建议拨打{hotline}政务服务便民热线，或通过{board}咨询。",
    "no_knowledge": "抱歉，知识库中没有找到相关内容。建议拨打{hotline}政务服务便民热线，或通过{board}咨询。",
    "other_region": "抱歉，知识库中没有{place}的相关政策。各地规定不同，为避免误导，暂不作答。"
    "建议拨打{place}当地的{hotline}政务服务便民热线，或登录当地政务服务网咨询。",
}
# With a self-service route the individual-case message leads with it, then the people to ask.
CASE_WITH_ROUTE = (
    "查询您本人的办理进度或结果需要核对您的个人信息，智能助手无法代为查询。"
    "您可以通过“{service}”自助查询或办理{link}[1]。"
)
CASE_WITH_SENTENCE = (
    "查询您本人的办理进度或结果需要核对您的个人信息，智能助手无法代为查询。根据《{title}》：{sentence}[1]"
)
CASE_PEOPLE = "如有疑问，请拨打{hotline}政务服务便民热线，或通过{board}留言。"
COMPLAINT_WITH_DEPARTMENT = (
    "您反映的情况需要由相关部门调查核实后处理，智能助手无法代为处理。"
    "根据《{title}》：{sentence}[1]"
    "您可以拨打{hotline}政务服务便民热线，或通过{board}提交，工作人员会按程序转交{department}办理并答复您。"
)

# A guide item that is itself the lookup (居民身份证办理进度查询, 个人参保查询).
_PROGRESS_ITEM = re.compile(r"进度查询|查询|结果公布|领取通知")
# A source sentence that tells the citizen where a progress or result can be checked.
_CHECK_SENTENCE = re.compile(
    r"(?:查询|查看|查到)[^。；]{0,12}(?:进度|结果|状态|情况)|(?:进度|结果|状态)[^。；]{0,8}查询"
)
# "可以向／可向 X 部门 投诉／举报": the department a source names for a kind of complaint.
_COMPLAINT_DEPT = re.compile(
    r"向([^，。；、：]{2,24}?(?:部门|机构|局|委员会|委|中心|执法队|办公室))[^，。；]{0,6}(?:投诉|举报|反映|申诉|控告)"
)
# Words of a message that say nothing about its topic (帮我查一下我的…到哪了).
_NOT_TOPIC = re.compile(
    r"帮我|帮忙|麻烦|一下|我的|我们|我家|本人|查询|查查|查下|查一|看看|看下|进度|到哪|哪一步|怎么|什么|"
    r"还没|没有|已经|申请|办理|投诉|举报|反映|现在|多久|时候|为什么|请问|你们|谢谢|有人|天天|每天|"
    r"[一二两三四五六七八九十几半\d]+(?:个)?(?:天|周|星期|礼拜|月|年)|\d+"
)
MAX_ROUTE_DOCS = 12
MAX_SENTENCE_CHARS = 120


@dataclass(frozen=True)
class Route:
    """What the knowledge base knows that helps a handed-off citizen, and the source that says it.

    ``kind``: ``service`` (a 进度查询 / 在线办理 item: ``url`` and/or ``phone`` from its fields),
    ``sentence`` (a source sentence on where to check), ``complaint`` (the department a source names
    for this kind of complaint). ``quote`` is the source text the hand-off states, verbatim.
    """

    kind: str
    title: str
    hit: Hit
    quote: str
    url: str = ""
    phone: str = ""
    department: str = ""


def department_contact(hits: Sequence[Hit]) -> tuple[str, str]:
    """(department, phone) of the best hit that knows a phone: guide ``consult_phone`` or a phone in text."""
    for h in hits[:5]:
        m = h.chunk.metadata
        fields = m.get("fields") if isinstance(m.get("fields"), dict) else {}
        phone = str(
            m.get("consult_phone") or (fields or {}).get("consult_phone") or (fields or {}).get("phone") or ""
        )
        if not phone:
            found = _PHONE_IN_TEXT.search(h.chunk.text)
            phone = found.group(1) if found else ""
        if phone:
            return str(m.get("department", "") or ""), phone
    return "", ""


def topic_words(query: Query) -> frozenset[str]:
    """What the message is about: its words (≥ 2 characters, none inside a longer one of them: 社保卡,
    not 社保) without request words (帮我, 进度, 到哪), plus their official terms (社保卡 → 社会保障卡)."""
    raw = [w for w in tokenize(_NOT_TOPIC.sub(" ", query.normalized), ngrams=False) if len(w) >= 2]
    words = {w for w in raw if not any(w != o and w in o for o in raw)}
    table = curated()
    return frozenset(words | {o for w in words for o in table.get(w, [])})


def _overlap(words: frozenset[str], text: str) -> int:
    return sum(1 for w in words if w in text)


def _docs(hits: Sequence[Hit]) -> list[Hit]:
    """The best hit of each document, in rank order (at most ``MAX_ROUTE_DOCS``)."""
    seen: dict[str, Hit] = {}
    for h in hits:
        seen.setdefault(h.doc_id, h)
    return list(seen.values())[:MAX_ROUTE_DOCS]


def _guide_fields(hit: Hit, chunk_source: ChunkSource | None) -> dict[str, object]:
    meta = hit.chunk.metadata.get("fields")
    if isinstance(meta, dict) and meta:
        return dict(meta)
    chunks = list(chunk_source(hit.doc_id)) if chunk_source is not None else [hit.chunk]
    return fields_from_chunks(chunks or [hit.chunk])


def _service_route(
    topic: frozenset[str], docs: Sequence[Hit], chunk_source: ChunkSource | None
) -> Route | None:
    """The 进度查询 item on the message's topic (its title names a topic word), else the on-topic guide
    with an online link or phone."""
    guides = [h for h in docs if h.chunk.metadata.get("type") == "guide"]
    scored = [(_overlap(topic, h.chunk.title), i, h) for i, h in enumerate(guides)]
    on_topic = [(s, i, h) for s, i, h in scored if s >= 1]
    # a lookup item first, then more topic overlap, then retrieval rank
    on_topic.sort(key=lambda t: (not _PROGRESS_ITEM.search(t[2].chunk.title), -t[0], t[1]))
    for _, _, h in on_topic:
        fields = _guide_fields(h, chunk_source)
        url, phone = str(fields.get("online_url") or ""), str(fields.get("consult_phone") or "")
        if not url.startswith(("http://", "https://")):
            url = ""
        if not (url or phone):
            continue
        quote = "；".join(
            x for x in (f"在线办理：{url}" if url else "", f"咨询电话：{phone}" if phone else "") if x
        )
        return Route("service", h.chunk.title, h, quote, url=url, phone=phone)
    return None


def _sentence_route(
    topic: frozenset[str], docs: Sequence[Hit], pattern: re.Pattern[str], kind: str
) -> Route | None:
    """The first sentence matching ``pattern`` in a document on the message's topic (its title or the
    sentence names a topic word)."""
    for h in docs:
        title_overlap = _overlap(topic, h.chunk.title)
        for sentence in split_sentences(h.chunk.text):
            m = pattern.search(sentence)
            if not m or len(sentence) > MAX_SENTENCE_CHARS:
                continue
            if title_overlap + _overlap(topic, sentence) < 1:
                continue
            department = m.group(1) if kind == "complaint" else ""
            return Route(kind, h.chunk.title, h, sentence.strip(), department=department)
    return None


def find_route(
    reason: str, query: Query, hits: Sequence[Hit], chunk_source: ChunkSource | None = None
) -> Route | None:
    """What the knowledge base knows for this hand-off (``Route``), or None: only for individual cases
    (a service item or a where-to-check sentence) and complaints (the department a source names)."""
    if reason not in ("individual_case", "complaint"):
        return None
    topic = topic_words(query)
    if not topic:
        return None
    docs = _docs(hits)
    if reason == "complaint":
        return _sentence_route(topic, docs, _COMPLAINT_DEPT, "complaint")
    return _service_route(topic, docs, chunk_source) or _sentence_route(
        topic, docs, _CHECK_SENTENCE, "sentence"
    )


def route_citation(route: Route) -> Citation:
    """Citation [1] of a hand-off that states what ``route`` found (the quote is its snippet)."""
    return make_citation(1, route.hit, quoted=route.quote)


def build_handoff(
    reason: str, hits: Sequence[Hit], settings: Settings, place: str = "", route: Route | None = None
) -> Handoff:
    """The machine-readable hand-off: hotline, message board, the department's phone when known, and
    ``route`` (``find_route``) when the knowledge base knows a self-service route or the department."""
    a = settings.answer
    fmt = {"hotline": a.hotline, "board": a.message_board, "place": place or "该地区"}
    message = MESSAGES.get(reason, MESSAGES["no_knowledge"]).format(**fmt)
    # A department's phone is only useful when the hits are about the citizen's topic (and place).
    department, phone = (
        department_contact(hits) if reason not in ("low_confidence", "other_region") else ("", "")
    )
    service = service_url = service_doc = ""
    if route is not None and route.kind == "service":
        link = f"：{route.url}" if route.url else ""
        message = CASE_WITH_ROUTE.format(service=route.title, link=link)
        if route.phone:
            department, phone = str(route.hit.chunk.metadata.get("department", "") or ""), route.phone
        service, service_url, service_doc = route.title, route.url, route.hit.doc_id
    elif route is not None and route.kind == "sentence":
        message = CASE_WITH_SENTENCE.format(title=route.title, sentence=_ended(route.quote))
        service, service_doc = route.title, route.hit.doc_id
    elif route is not None and route.kind == "complaint":
        message = COMPLAINT_WITH_DEPARTMENT.format(
            title=route.title, sentence=_ended(route.quote), department=route.department, **fmt
        )
        department, phone = route.department, ""
    if route is not None and route.kind in ("service", "sentence"):
        if phone:
            message += f"也可咨询{department or '主管部门'}（{phone}）[1]。" if route.phone else ""
        message += CASE_PEOPLE.format(**fmt)
        if phone and not route.phone:
            message += f"也可咨询{department or '主管部门'}：{phone}。"
    elif phone:
        message += f"也可咨询{department or '主管部门'}：{phone}。"
    return Handoff(
        reason=reason,
        message=message,
        hotline=a.hotline,
        channels=[f"{a.hotline}热线", a.message_board],
        department=department,
        department_phone=phone,
        service=service,
        service_url=service_url,
        service_doc_id=service_doc,
    )


def _ended(sentence: str) -> str:
    """``sentence`` ending in a full stop (so the [1] marker follows the sentence it cites)."""
    s = sentence.rstrip()
    return s if s.endswith(("。", "！", "？", "；")) else s + "。"
