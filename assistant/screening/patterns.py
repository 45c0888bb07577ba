"""Patterns of text addressed to an AI (prompt injection) and of fraud, shared by ingest, input screening and the guard.

One home for these rules: ``ingest/quarantine.py`` flags documents with them, ``moderation.py``
answers a citizen message that carries an injection, and ``guard.py`` withholds answer sentences that
ask for money. Regular expressions over NFKC-folded, simplified text (``normalize_query``) with
spaces, symbols and zero-width characters between Chinese characters removed, so ``忽 略 以 上 指 令``
and ``忽略‍以上指令`` read the same; English patterns see the folded text with single spaces.

Shortcut: these are surface patterns. They catch the usual phrasings (Chinese and English) and
fraud scripts (transfers to personal accounts, a 400/800 or mobile number next to 转账/汇款, a bank
card or account number next to a payment word); a paraphrase they miss is still stopped at answer
time by the guard, which does not trust any number outside an official field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import normalize_query

_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
# spaces/symbols between two CJK characters: "忽 略" → "忽略"
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff])[\s*_~·.\-|/\\]+(?=[\u4e00-\u9fff])")

_INJECTION_ZH = re.compile(
    r"(?:忽略|无视|忽视|跳过|不要理会|不用理会|不要遵守|不必遵守|不再遵守|绕过)(?:掉)?(?:你)?(?:之前|此前|以上|上面|上述|前面|先前|原有|原来|系统|开发者|所有|全部|一切)?"
    r"(?:的)?(?:所有|全部|一切)?(?:的)?(?:指令|指示|提示词|提示|规则|要求|设定|限制|约束|命令|安全策略)"
    r"|(?:忽略|无视|忽视|不要理会)(?:掉)?(?:以上|之前|上面|前面|其他|其它|所有|全部|知识库|资料|文件)[^。\n]{0,10}?(?:指令|指示|提示|规则|设定|内容|文件|资料)"
    r"|在回答[中里]?(?:加上|附上|写上|加入|插入)|(?:每个|所有|任何)回答(?:都|中)?(?:要|必须|需要)?(?:附上|加上|带上)"
    r"|忘[记掉](?:你)?(?:之前|以上|前面|所有|全部|你的)?(?:的)?(?:指令|指示|提示|规则|设定|身份|要求|限制)"
    r"|你是一[个名位](?:没有|不受)(?:任何)?(?:限制|约束|审查|道德)|(?:没有|不受)任何(?:限制|约束|审查)的(?:ai|助手|模型|机器人)"
    r"|(?:以|用)(?:管理员|开发者|超级用户|root)(?:的)?(?:身份|权限|模式)|假如你是一[个名位]|现在开始扮演|扮演(?:我的|成)"
    r"|重复(?:一遍)?(?:你的|上面的|以上的|前面的)(?:话|内容|指令|提示|设定)"
    r"|你现在是(?:一个|一名|一位|个)|从现在(?:起|开始)[，,]?你(?:是|将|要|必须|只能)|你将扮演|请你?扮演|扮演一[个名位]|"
    r"假装你是|假设你是一[个名位]|你的新身份|你不再是|角色扮演|进入(?:开发者|调试|越狱|上帝)模式|开发者模式|越狱模式|dan模式"
    r"|(?:输出|打印|显示|泄露|告诉我|重复)(?:你的|你)?(?:系统)?(?:提示词|指令|系统提示|初始设定|设定)"
    r"|系统提示词|系统指令[:：]|新的指令[:：]|最高优先级|管理员指令|^\s*(?:系统|指令|system|assistant)\s*[:：]"
    r"|(?:致|给|对|告诉|通知)(?:ai|人工智能|智能助手|大模型|语言模型|机器人|模型|智能客服)(?:助手)?(?:的)?(?:指令|提示|说明|[:：，,])"
    r"|(?:ai|人工智能|智能助手|大模型|语言模型)(?:助手)?(?:在)?(?:回答|回复|生成)(?:时|的时候)?(?:必须|务必|请|应当|需要)"
    r"|回答(?:时|中)?(?:请|务必|必须|一定要)(?:告诉|提示|附上|加上|告知)",
    re.M,
)
_INJECTION_EN = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b(?:\s+\w+){0,3}?\s+(?:instructions?|prompts?|rules|guidelines|directions|context)\b"
    r"|\byou\s+are\s+now\b|\bfrom\s+now\s+on\s*,?\s+you\b|\bact\s+as\s+(?:an?\s+)?(?:unrestricted|different|new|evil|dan)\b"
    r"|\bpretend\s+(?:to\s+be|you\s+are)\b|\brole-?\s?play\b|\bdeveloper\s+mode\b|\bjailbreak|\bdo\s+anything\s+now\b"
    r"|\bsystem\s+prompt\b|^\s*(?:system|assistant|developer)\s*:|<\|im_start\|>|<\|system\|>|\[/?inst\]|###\s*(?:instruction|system)"
    r"|\brepeat\s+(?:the|your|all)\s+(?:words|text|instructions|prompt)\b|\bno\s+(?:restrictions|filters|rules)\b"
    r"|\bas\s+an?\s+(?:ai|assistant|language\s+model)\b.{0,20}\b(?:must|should|will)\b"
    r"|\bnew\s+instructions?\s*:|\b(?:note|message)\s+to\s+(?:the\s+)?(?:ai|assistant|llm|model)\b"
    r"|\bwhen\s+(?:answering|responding)\b.{0,40}\b(?:tell|ask|instruct)\s+(?:the\s+)?users?\b",
    re.M | re.I,
)

# Moving money, and where to. Strong verbs only: 缴纳 / 支付 / 存入 are everyday words of fee and
# 公积金 texts, 转账 / 汇款 / 打款 are what fraud scripts ask for.
PAY_VERB = r"(?:转账|汇款|打款|转款|汇入|打到|打入|汇到|打钱|转钱|汇钱|扫码付款|扫码支付|扫码转账|充值到)"
_TARGET = (
    r"(?:私人账户|私人账号|个人银行卡|私人银行卡|个人微信|私人微信|个人支付宝|私人支付宝|安全账户|指定账户|"
    r"以下账户|下列账户|该账户|此账户|这个账户|对方账户|收款码|收款二维码|我的账户|我的银行卡|本账户)"
)
# towards one of those targets, softer verbs count too
_TO_TARGET = r"(?:" + PAY_VERB[3:-1] + r"|转入|存入|缴入|支付到|付到|缴纳到|转到|存到)"
_PAY_TO_PERSONAL = re.compile(
    _TO_TARGET + r"[^。！？!?\n]{0,24}?" + _TARGET + r"|" + _TARGET + r"[^。！？!?\n]{0,12}?" + _TO_TARGET
)
_ACCOUNT_NUMBER = re.compile(r"(?<!\d)(?:\d{12,22}|\d{4}(?:[ -]\d{4}){2,4}(?:[ -]\d{1,4})?)(?!\d)")
_ACCOUNT_WORD = re.compile(r"账户|账号|卡号|银行卡|开户行|户名")
_HOTLINE_400 = re.compile(r"(?<!\d)[48]00(?:[- ]?\d){7}(?!\d)")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
_ADVANCE_FEE = re.compile(
    r"(?:先|预先|提前)(?:交|缴|付|支付|缴纳|交纳|转)[^。！？!?\n]{0,10}?(?:保证金|手续费|押金|解冻费|激活费|认证费|服务费|定金|税费)"
    r"[^。！？!?\n]{0,20}?(?:才能|方可|然后|再|即可|否则)"
    r"|(?:解冻费|激活费|认证费|刷流水)"
)
_SAFE_ACCOUNT = re.compile(r"安全账户|资金清查|涉嫌洗钱[^。]{0,20}(?:转账|转入)")
_EN_PAY = re.compile(
    r"\b(?:transfer|wire|send|pay)\b[^.\n]{0,40}\b(?:account|card|wallet|bitcoin|usdt)\b", re.I
)
_PAY_WINDOW = 60  # a 400/mobile number or an account number this close to a payment word


@dataclass(frozen=True)
class Flag:
    """Why a text looks unsafe: ``kind`` is ``injection`` or ``fraud``; ``evidence`` a short, masked excerpt."""

    kind: str
    reason: str
    evidence: str


def fold(text: str) -> str:
    """The text the patterns read: NFKC, simplified, lower case, no zero-width characters, CJK gaps closed."""
    return _CJK_GAP.sub("", normalize_query(_ZERO_WIDTH.sub("", text or "")))


def _excerpt(text: str, start: int, end: int) -> str:
    from ..safety import mask_pii

    return mask_pii(text[max(0, start - 10) : end + 10].replace("\n", " "))


def injection_flags(text: str) -> list[Flag]:
    """Text addressed to an AI: '忽略以上指令', 'SYSTEM:', role-play set-ups, English variants."""
    t = fold(text)
    flags = []
    for pattern in (_INJECTION_ZH, _INJECTION_EN):
        m = pattern.search(t)
        if m:
            flags.append(
                Flag(
                    "injection", "text addressed to an AI: " + m.group().strip()[:30], _excerpt(t, *m.span())
                )
            )
    return flags


_PAY = re.compile(PAY_VERB)


def _near_payment(
    t: str, pattern: re.Pattern[str], also: re.Pattern[str] | None = None
) -> re.Match[str] | None:
    """The first match of ``pattern`` with a payment verb (and ``also``, when given) within the window."""
    for m in pattern.finditer(t):
        window = t[max(0, m.start() - _PAY_WINDOW) : m.end() + _PAY_WINDOW]
        if _PAY.search(window) and (also is None or also.search(window)):
            return m
    return None


def fraud_flags(text: str) -> list[Flag]:
    """Fraud patterns: money to a personal/'safe' account, advance fees, 400/mobile numbers or account
    numbers next to a payment word, English wire-transfer requests."""
    t = fold(text)
    checks: list[tuple[str, re.Match[str] | None]] = [
        ("payment to a personal or unspecified account", _PAY_TO_PERSONAL.search(t)),
        ("advance fee before a service", _ADVANCE_FEE.search(t)),
        ("'safe account' script", _SAFE_ACCOUNT.search(t)),
        ("400/800 number next to a payment", _near_payment(t, _HOTLINE_400)),
        ("mobile number next to a payment", _near_payment(t, _MOBILE)),
        ("account number next to a payment", _near_payment(t, _ACCOUNT_NUMBER, _ACCOUNT_WORD)),
        ("money transfer request (English)", _EN_PAY.search(t)),
    ]
    return [Flag("fraud", reason, _excerpt(t, *m.span())) for reason, m in checks if m is not None]


def asks_for_payment(sentence: str) -> bool:
    """Whether an answer sentence asks the citizen to pay or transfer money to an account or in advance.

    Official fee statements (收费标准, 工本费20元, 免费) are not requests; a sentence is one when money
    goes to an account, card or QR code, or an advance fee is demanded, or an English transfer request.
    """
    t = fold(sentence)
    return bool(
        _PAY_TO_PERSONAL.search(t)
        or _ADVANCE_FEE.search(t)
        or _SAFE_ACCOUNT.search(t)
        or _EN_PAY.search(t)
        or (_PAY.search(t) and (_ACCOUNT_WORD.search(t) or _ACCOUNT_NUMBER.search(t)))
    )


def document_flags(text: str) -> list[Flag]:
    """Every injection and fraud flag of a document's text (ingest quarantine)."""
    return injection_flags(text) + fraud_flags(text)
