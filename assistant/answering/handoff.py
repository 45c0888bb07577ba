"""The hand-off: what the citizen is told when a human must take over, and where to reach one.

``build_handoff`` writes the message for a reason (human requested, complaint, individual case, low
confidence, no knowledge, another region) with the configured hotline and message board, plus the
responsible department's phone when the hits know it. Deciding *when* to hand off is the decision
order's job (``respond``) with the message classifier (``classify``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.config import Settings
from assistant.types import Handoff, Hit

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
