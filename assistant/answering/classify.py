"""The message classifier: does a message ask for a human, or report an individual case or complaint?

The message classifier is a transparent weighted sum of regex features (table ``FEATURES``; weights
set by hand from what distinguishes citizen message-board posts from knowledge-base questions, the
threshold calibrated on the dev sets with department/fold hold-outs — figures in docs/answering.md).
An explicit request for a human (转人工, 人工客服) always hands off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.query import Query


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


def message_score(query: Query) -> tuple[float, list[str]]:
    """Classifier score of a message and the names of the features that fired."""
    q = query.raw_normalized.upper()  # upper: place codes survive normalize_query's lower()
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


def classify_message(query: Query, threshold: float = THRESHOLD) -> HandoffDecision | None:
    """A hand-off decision for requests for a human and for individual cases / complaints, else None."""
    if HUMAN_REQUEST.search(query.raw):
        return HandoffDecision("human_requested", float("inf"), ["human_request"])
    score, fired = message_score(query)
    if score < threshold:
        return None
    reason = "complaint" if {"complaint", "reported"} & set(fired) else "individual_case"
    return HandoffDecision(reason, round(score, 2), fired)
