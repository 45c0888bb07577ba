"""Transparent features of a message: named regex cues (0/1), a place outside the knowledge base, length.

They sit next to the embedding in the intent model so that a decision can be explained ("fired:
my_record, progress") and so that cues the embedder is blind to (a case number, 转人工) count. The
letter-style and complaint cues are those of ``assistant.answering.handoff`` (copied, not imported:
that table is the hand-set classifier this model is meant to replace; the pipeline keeps it until
the model is wired in). The weights of all features are learned, not set by hand.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from assistant.regions import MAINLAND_TRAVEL_DOCS, asked_places
from assistant.text import normalize_query


@dataclass(frozen=True)
class Cue:
    """One named regex and why it is there."""

    name: str
    pattern: re.Pattern[str]
    why: str


def _c(name: str, pattern: str, why: str) -> Cue:
    return Cue(name, re.compile(pattern), why)


CUES: tuple[Cue, ...] = (
    # -- requests for a person (handoff.HUMAN_REQUEST, widened to the colloquial forms)
    _c(
        "human_request",
        r"转人工|人工客服|人工服务|人工坐席|找人工|真人|接人工|要人工|人工接待|转接人工|人工呢|人工吗|^人工$|"
        r"工作人员|找个人|叫个人|叫人|找人|换个人|客服",
        "asks for a person or a human agent",
    ),
    # -- individual cases and progress lookups
    _c(
        "lookup_request",
        r"帮我?(?:查|看|问|催|核|改|算|调)|帮忙(?:查|看)|查一?下我|查查|你们?帮|帮我们|给我查|后台|催一下|帮查",
        "asks the assistant to look something up or act on a record",
    ),
    _c(
        "my_record",
        r"我的|我家(?:孩子|小孩|娃|宝宝)?的|我(?:爸|妈|老伴|儿子|女儿|老婆|老公)的|俺(?:娘|爹)的|我们(?:公司|店)的",
        "about the writer's own record",
    ),
    _c(
        "progress",
        r"进度|到哪|哪一步|哪步|审核中|待审核|审批到|批了没|批没批|好了没|好没|办好|出来没|出了没|结果出|"
        r"还没(?:到|下来|批|寄|发|收到|做好)|没到账|怎么还没|什么时候(?:能)?(?:到|拿|发|处理)|通过了?没|成功了?没|"
        r"排第几|排到|多少分|几分",
        "asks where an application has got to",
    ),
    _c(
        "case_id",
        r"编号|受理号|回执号|单号|工单|案号|申请号|预约号|身份证号|[A-Za-z]{0,3}\d{6,}",
        "quotes a case, application or ID number",
    ),
    _c(
        "elapsed",
        r"[一二两三四五六七八九十几\d]+(?:天|周|个?星期|个?礼拜|个?月)(?:了|还|都)",
        "time already waited",
    ),
    # -- "how does one look up X" (a rule question) rather than "look up MY X" (a case)
    _c(
        "howto_lookup",
        r"(?:如何|怎么|怎样|咋|怎|哪里|在哪|哪儿|什么(?:方式|途径|渠道|地方))(?:样|么)?(?:才能|可以|能|去|来)?"
        r"(?:网上|在线|线上|自助|自己)?(?:查询|查到|查看|查|打印|下载|核对|获取)|(?:查询|查看)(?:方式|渠道|途径|入口|方法)",
        "asks how one looks something up: the route is the answer",
    ),
    _c(
        "generic_subject",
        r"参保人|职工|个人|市民|居民|公民|群众|(?<!我)单位|企业|申请人|缴存人|借款人|老年人|残疾人|外地人|本市|"
        r"非本市|外省市?|持证人|考生|学生|运动员|游客|公众|患者|参保|缴存",
        "a generic subject (参保人员, 职工, 企业): the wording of official FAQ",
    ),
    # -- complaints and reports (handoff's complaint / reported / persisting cues, colloquial forms added)
    _c(
        "complaint",
        r"投诉|举报|检举|扰民|不作为|乱作为|乱收费|乱收|乱罚|违规|违法|非法|拖欠|欠薪|克扣|霸王|强制|敷衍|推诿|刁难|"
        r"索要|偷工减料|质量问题|安全隐患|污染|噪音|噪声|臭|脏乱|很脏|太脏|脏死|又脏|吵|跑路|骗|假货|不退|不给|不管|没人管|没人修|"
        r"太危险|危险|虐待|打孩子|卷款|态度(?:很)?差|不理人|占道|乱扔|乱丢|乱停|偷排|超标",
        "a complaint or report about wrongdoing or a nuisance",
    ),
    _c("reported", r"反映|反应问题|曝光|求助|维权|讨说法|主持公道|做主|告他", "'reflecting' a problem"),
    _c(
        "persisting",
        r"至今|多次|屡次|无果|没有下文|迟迟|一直|仍未|到现在|久拖|几年了|好几年|几个月|天天|每晚|每天|半夜|凌晨",
        "a problem that has lasted or recurs",
    ),
    _c("salutation", r"尊敬的|领导|书记|市长|局长|主任您好|政府您好", "letter-style address to officials"),
    # -- chit-chat and off-topic
    _c(
        "off_topic",
        r"怎么做(?:才)?(?:好吃|嫩)?$|菜谱|好吃|天气|下雨|多少度|台风|降温|股票|基金|比特币|黄金|涨|笑话|故事|"
        r"电影|电视剧|推荐|唱歌|减肥|python|java|翻译|你是谁|你叫|几岁|多大了|机器人吗|你是人",
        "recipes, weather, markets, entertainment or questions about the bot",
    ),
    # -- greetings and thanks
    _c(
        "greeting",
        r"^(?:你好|您好|早上好|下午好|晚上好|早安|在吗|在不在|hi|hello|哈喽|嗨)|谢谢|感谢|多谢|谢了|thanks|3q|"
        r"辛苦|拜拜|再见|^好的?|^嗯|^ok|^行|^收到|明白|知道了|晓得了",
        "thanks, greetings and acknowledgements",
    ),
    # -- places and mainland travel documents
    _c(
        "foreign",
        r"美国|英国|日本|韩国|泰国|法国|德国|澳大利亚|加拿大|新加坡|签证|落地签",
        "a foreign country or a visa (not a mainland service)",
    ),
    _c(
        "hk_macao_taiwan_docs",
        MAINLAND_TRAVEL_DOCS.pattern,
        "Hong Kong / Macao / Taiwan travel documents: mainland services, a question",
    ),
    # -- the shape of a knowledge-base question
    _c(
        "how_question",
        r"怎么|咋|如何|怎样|点样|什么|啥|哪些|哪里|在哪|哪个|多少|多久|几天|几年|几个月|要不要|能不能|可不可以|"
        r"可以.{0,8}吗|能.{0,6}[吗不]|是不是|有没有|吗$|吗[？?]?$|么$|能否|可否|是否|还是|分别|指的?是|何时|哪类",
        "asks how / what / where / how long / whether",
    ),
    _c("question_mark", r"[?？]\s*$", "ends with a question mark, as FAQ questions do"),
    _c(
        "service_word",
        r"办理|申请|申领|材料|条件|补贴|津贴|政策|规定|标准|手续|流程|认定|登记|报销|证$|卡$",
        "names a service, a benefit or a rule",
    ),
    # 本人 left out: official wording uses it generically ("须本人到场", "本人个人账户")
    _c("first_person", r"我|俺|咱", "first person (weak: citizens ask 'how do I…' too)"),
    _c("family", r"我?(?:爸|妈|爷爷|奶奶|老伴|老人家|孩子|小孩|娃|宝宝|女儿|儿子)|\d+岁", "about family"),
)

_MY_CASE = "my_case"
_OUTSIDE = "place_outside_gd"
_GD_NOT_GZ = "place_gd_not_gz"
_INSIDE = {"广东"}
# derived: the writer's own record (我的… / 帮我…) together with progress, a number or time waited
_MINE, _SPECIFIC = {"my_record", "lookup_request"}, {"progress", "case_id", "elapsed"}
FEATURE_NAMES: tuple[str, ...] = (*(c.name for c in CUES), _MY_CASE, _OUTSIDE, _GD_NOT_GZ, "log_len")


def _places(text: str) -> tuple[bool, bool]:
    """(names a province/city outside 广东, names a 广东 city other than 广州)."""
    outside = gd_other = False
    for place in asked_places(text):  # 香港 with 通行证/签注 is a mainland service
        if place.province not in _INSIDE:
            outside = True
        elif place.city and place.city != "广州":
            gd_other = True
    return outside, gd_other


def features(text: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The feature vector of a message (order: ``FEATURE_NAMES``) and the names of the features that fired."""
    q = normalize_query(text).strip()
    vec = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    fired: list[str] = []
    for i, cue in enumerate(CUES):
        if cue.pattern.search(q):
            vec[i] = 1.0
            fired.append(cue.name)
    n = len(CUES)
    if _MINE & set(fired) and _SPECIFIC & set(fired):
        vec[n] = 1.0
        fired.append(_MY_CASE)
    outside, gd_other = _places(q)
    if outside:
        vec[n + 1] = 1.0
        fired.append(_OUTSIDE)
    if gd_other:
        vec[n + 2] = 1.0
        fired.append(_GD_NOT_GZ)
    # length in characters on a log scale, 0 at 1 char and 1 at ~150: posts narrate, questions don't
    vec[n + 3] = min(1.0, math.log1p(len(q)) / math.log1p(150))
    return vec, tuple(fired)
