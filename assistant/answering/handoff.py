"""Refusal and hand-off: spot individual cases / complaints / reports, low confidence, requests for a human.

The message classifier is a transparent weighted sum of regex features (table ``FEATURES``; weights
set by hand from what distinguishes citizen message-board posts from knowledge-base questions, the
threshold calibrated on the dev sets with department/fold hold-outs — figures in docs/answering.md).
An explicit request for a human (转人工, 人工客服) always hands off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answering.grounding import bigrams
from assistant.config import Settings
from assistant.text import normalize_query
from assistant.types import Handoff, Hit


@dataclass(frozen=True)
class Feature:
    """One named signal: a regex, its weight, and why it is there."""

    name: str
    pattern: re.Pattern[str]
    weight: float
    why: str


def _f(name: str, pattern: str, weight: float, why: str) -> Feature:
    return Feature(name, re.compile(pattern), weight, why)


HUMAN_REQUEST = re.compile(
    r"转人工|人工客服|人工服务|人工坐席|找人工|真人客服|接人工|要人工|人工接待|转接人工"
)

FEATURES: tuple[Feature, ...] = (
    _f(
        "place_code",
        r"(?<![A-Za-z])[A-Z]\d{0,2}(?:市|区|县|镇|乡|村|街道)",
        2.0,
        "an anonymised or coded place (A市, A2区): a post about a specific locality",
    ),
    _f(
        "salutation",
        r"尊敬的|领导|书记|市长|县长|区长|局长|镇长|乡长|主任您好|政府您好|你们好|各位好",
        2.0,
        "letter-style address to officials: message-board post, not a question to a knowledge base",
    ),
    _f(
        "complaint",
        r"投诉|举报|检举|扰民|不作为|乱作为|乱收费|乱收|违规|违法|非法|拖欠|欠薪|克扣|霸王|强制|敷衍|推诿|刁难|索要|"
        r"偷工减料|质量问题|安全隐患|污染严重|噪音|噪声|臭味|脏乱差",
        1.5,
        "a complaint or report about wrongdoing or a nuisance",
    ),
    _f(
        "reported",
        r"反映|反应问题|曝光|求助|维权|讨说法|主持公道|做主",
        1.5,
        "'reflecting' a problem to the authorities",
    ),
    _f(
        "persisting",
        r"至今|多次|屡次|无果|没有下文|迟迟|一直没|一直未|一直不|仍未|仍然没|还没有|到现在|久拖|"
        r"几年了|多年|好几年|数年|几个月|长期",
        1.5,
        "a problem that has lasted or been raised before",
    ),
    _f(
        "plea",
        r"恳请|请求|恳求|希望政府|希望相关|希望有关|希望领导|希望能|希望尽快|急盼|帮帮|呼吁|诉求|给个说法|"
        r"(?<![申邀])请(?!问).{0,6}(?:核实|调查|处理|解决|落实|督促|查处|整改)",
        1.5,
        "asks the authorities to act",
    ),
    _f("hope", r"望|期待|期盼|盼", 1.0, "hoping for action (望/盼: letter style)"),
    _f(
        "authorities",
        r"有关部门|相关部门|政府部门|主管部门|职能部门|政府|领导们",
        1.0,
        "addresses the authorities",
    ),
    _f(
        "locality",
        r"小区|村民|村委|[\u4e00-\u9fff]{1,4}村(?!民)|[一二三四五六七八九十\d]+[组栋]|街道|社区|业主|物业|开发商|楼盘|"
        r"门面|工地|乡镇|镇上|我市|我县|我区",
        1.0,
        "names a specific estate, village or site",
    ),
    _f(
        "first_person_group",
        r"我们|我家|我村|我组|我校|全体|居民们|村民们|家长们|业主们",
        1.0,
        "speaks for a household or group",
    ),
    _f("first_person", r"我|本人|俺", 0.5, "first person (weak: citizens ask 'how do I…' too)"),
    _f("family", r"我的|我爸|我妈|父亲|母亲|孩子|小孩|老人家|\d+岁", 0.5, "about the writer's own family"),
    _f(
        "dated",
        r"(?:19|20)\d\d年|\d{1,2}月\d{1,2}[日号]|去年|前年|今年|前天|昨天|上个月|上周",
        0.5,
        "a dated event",
    ),
    _f("courtesy", r"谢谢|感谢|辛苦了|万分感激|盼复|回复", 0.5, "letter courtesy"),
    _f("emotive", r"[！!]|可怜|不容易|无奈|严重|强烈|极其|非常不|太[^阳平]", 1.0, "exclamation and emotion"),
    _f("polite_ask", r"请问|(?<![申邀])请(?!假|示|求)", 0.5, "请/请问 addressed to officials"),
    _f("why", r"为什么|为何|凭什么|到底|难道", 0.5, "questions a decision"),
    _f("local_plan", r"规划|建设|修路|路灯|公交|红绿灯|减速带|护栏", 0.5, "local planning and works"),
    _f("suggestion", r"建议", 0.5, "a suggestion to the government"),
    _f(
        "how_question",
        r"^(?:请问)?(?:如何|怎样|怎么|什么是|哪些|是否|能否|可否)|(?:如何|怎样|怎么办|什么|哪些|多少|多久|吗|么|是否)[？?]?$",
        -1.0,
        "a short how/what question, the shape of knowledge-base questions",
    ),
    _f("doc_title", r"^《", -1.0, "starts with a document title: asks about a policy text"),
)

# Length: posts narrate; knowledge-base questions rarely exceed 100 characters.
LENGTH_STEPS: tuple[tuple[int, float], ...] = ((80, 1.0), (150, 1.0), (300, 1.0))
THRESHOLD = 2.0


@dataclass
class HandoffDecision:
    """Why a message should go to a human: reason, classifier score and the features that fired."""

    reason: str  # human_requested | complaint | individual_case
    score: float
    features: list[str] = field(default_factory=list)
    search: bool = True  # retrieve anyway: the hits may name the responsible department's phone


def message_score(question: str) -> tuple[float, list[str]]:
    """Classifier score of a message and the names of the features that fired."""
    q = normalize_query(question).upper()  # upper: place codes survive normalize_query's lower()
    fired: list[str] = []
    score = 0.0
    for f in FEATURES:
        if f.pattern.search(q):
            score += f.weight
            fired.append(f.name)
    for min_len, w in LENGTH_STEPS:
        if len(q) > min_len:
            score += w
            fired.append(f"len>{min_len}")
    return score, fired


def classify_message(question: str, threshold: float = THRESHOLD) -> HandoffDecision | None:
    """A hand-off decision for requests for a human and for individual cases / complaints, else None."""
    if HUMAN_REQUEST.search(question):
        return HandoffDecision("human_requested", float("inf"), ["human_request"], search=False)
    score, fired = message_score(question)
    if score < threshold:
        return None
    reason = "complaint" if {"complaint", "reported"} & set(fired) else "individual_case"
    return HandoffDecision(reason, round(score, 2), fired)


# ----------------------------------------------------------------------------- confidence


def confidence(hits: Sequence[Hit], question: str = "") -> float:
    """How sure the answer can be, 0..1.

    With ``question``: lexical coverage — the share of the question's content bigrams found in the best
    of the top three hits' title + text; it does not depend on the retriever's score scale. Without it:
    the top hit's score clipped to 0..1 (fused scores are min-max normalised, so mostly a ranking aid).
    """
    if not hits:
        return 0.0
    if not question:
        return round(min(1.0, max(0.0, float(hits[0].score))), 3)
    qb = bigrams(_content(question))
    if not qb:
        return 1.0
    best = 0.0
    for h in hits[:3]:
        hb = bigrams(h.chunk.title + h.chunk.text)
        best = max(best, len(qb & hb) / len(qb))
    return round(best, 3)


_FILLER = re.compile(
    r"请问|您好|你好|谢谢|如何|怎样|怎么办|怎么|什么|哪些|哪里|哪个|是否|能否|可以|需要|应该|多少|吗|呢|吧|一下|我想|我要|我的|我们|办理|咨询|问题"
)


def _content(question: str) -> str:
    return _FILLER.sub(" ", normalize_query(question))


def should_refuse(
    hits: Sequence[Hit], settings: Settings, question: str = "", relevance_floor: float | None = None
) -> bool:
    """True when no hit is left; when the best dense score is below the relevance floor
    (``settings.answer.relevance_floor``, else the embedder's calibrated ``relevance_floor``); or (with
    ``question``) when lexical confidence is below ``settings.answer.min_confidence`` (default 0: off).
    See docs/answering.md for how both are calibrated."""
    if not hits:
        return True
    floor = (
        settings.answer.relevance_floor if settings.answer.relevance_floor is not None else relevance_floor
    )
    best = max((h.dense_score for h in hits if h.dense_score is not None), default=None)
    if floor and best is not None and best < floor:
        return True
    return bool(question) and confidence(hits, question) < settings.answer.min_confidence


# ----------------------------------------------------------------------------- hand-off object

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


def build_handoff(reason: str, hits: Sequence[Hit], settings: Settings, place: str = "") -> Handoff:
    """The machine-readable hand-off: hotline, message board, and the department's phone when known."""
    a = settings.answer
    message = MESSAGES.get(reason, MESSAGES["no_knowledge"]).format(
        hotline=a.hotline, board=a.message_board, place=place or "该地区"
    )
    # A department's phone is only useful when the hits are about the citizen's topic (and place).
    department, phone = (
        department_contact(hits) if reason not in ("low_confidence", "other_region") else ("", "")
    )
    if phone:
        message += f"也可咨询{department or '主管部门'}：{phone}。"
    return Handoff(
        reason=reason,
        message=message,
        hotline=a.hotline,
        channels=[f"{a.hotline}热线", a.message_board],
        department=department,
        department_phone=phone,
    )
