"""Pydantic wire models of the HTTP API (requests are validated with these; responses document the shape)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
# "has a character that is not whitespace", for JSON Schema's and Python's idea of whitespace alike
HAS_TEXT_PATTERN = r"[^\s\x1c-\x1f\x85]"
Channel = Literal["web", "kiosk", "api"]


class ChatRequest(BaseModel):
    """A citizen's question. ``question`` is limited to ``api.max_question_chars`` (2,000 by default)."""

    # The enforced maximum is api.max_question_chars; openapi.py writes it into the document.
    question: str = Field(
        min_length=1, max_length=100_000, pattern=HAS_TEXT_PATTERN, description="the question"
    )
    session_id: str | None = Field(
        default=None,
        pattern=SESSION_ID_PATTERN,
        description="continue a conversation this key started (the session_id of an earlier answer);"
        " unknown, expired or foreign ids are 404",
    )
    region: str | None = Field(default=None, max_length=64, description="prefer documents of this region")
    channel: Channel = "web"
    stream: StrictBool = Field(default=False, description="answer as Server-Sent Events")


class CitationOut(BaseModel):
    n: int
    doc_id: str
    chunk_id: str
    title: str
    snippet: str
    type: str = ""
    doc_number: str = ""
    issuer: str = ""
    department: str = ""
    region: str = ""
    publish_date: str = ""
    effective_date: str = ""
    status: str = ""
    url: str = ""
    score: float = 0.0


class CardFieldOut(BaseModel):
    key: str
    label: str
    value: str = ""
    items: list[str] = []


class CardOut(BaseModel):
    title: str
    doc_id: str
    department: str = ""
    region: str = ""
    fields: list[CardFieldOut] = []
    online_url: str = ""
    phone: str = ""


class HandoffOut(BaseModel):
    reason: str
    message: str
    hotline: str = "12345"
    channels: list[str] = []
    department: str = ""
    department_phone: str = ""


class ClarifyOptionOut(BaseModel):
    label: str
    question: str
    doc_id: str = ""


class ClarifyOut(BaseModel):
    question: str
    options: list[ClarifyOptionOut] = []


class QRLink(BaseModel):
    """A URL to show as a QR code on a kiosk; ``svg`` is this server's QR image for it."""

    label: str
    url: str
    svg: str


class ChatResponse(BaseModel):
    answer: str
    citations: list[CitationOut]
    card: CardOut | None = None
    handoff: HandoffOut | None = None
    clarify: ClarifyOut | None = None
    session_id: str
    request_id: str
    answered_by: str
    confidence: float = 0.0
    timings: dict[str, float] = {}
    intent: str | None = Field(
        default=None,
        description="the intent model's label (question, case, complaint, human, chitchat, other_region, "
        "greeting); absent when no intent model is configured",
    )
    intent_confidence: float | None = Field(
        default=None, description="the intent label's calibrated probability"
    )
    qr: list[QRLink] | None = Field(default=None, description="kiosk channel only: URLs to show as QR codes")
    full_answer: str | None = Field(default=None, description="kiosk channel only: the untruncated answer")


class SearchResult(BaseModel):
    doc_id: str
    chunk_id: str
    title: str
    score: float
    snippet: str
    type: str = ""
    department: str = ""
    region: str = ""
    url: str = ""
    doc_number: str = ""
    status: str = ""
    section: str = ""


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]
    request_id: str


class ExchangeOut(BaseModel):
    request_id: str
    question: str
    answer: str
    answered_by: str = ""
    handoff: str = ""
    citations: list[dict[str, Any]] = []
    created_at: float
    feedback: dict[str, Any] | None = None


class TurnOut(BaseModel):
    role: Literal["user", "assistant"]
    content: str
    request_id: str


class SessionOut(BaseModel):
    session_id: str
    turns: list[TurnOut]
    exchanges: list[ExchangeOut]


class FeedbackRequest(BaseModel):
    request_id: str = Field(min_length=1, max_length=64, description="the rated answer's request_id")
    session_id: str | None = Field(
        default=None,
        pattern=SESSION_ID_PATTERN,
        description="the session the answer belongs to; required with widget keys and without keys",
    )
    rating: Literal["up", "down"]
    comment: str = Field(default="", max_length=2000)


class FeedbackResponse(BaseModel):
    ok: bool
    request_id: str


# --- reports (投诉/举报) ---------------------------------------------------------------------------

ReportReason = Literal["错误", "过时", "不当内容", "其他"]
ReportStatus = Literal["待处理", "处理中", "已办结"]
TRACKING_NUMBER_PATTERN = r"^\d{8}-[0-9A-HJKMNP-TV-Z]{10}$"


class ReportRequest(BaseModel):
    """A citizen's complaint about one answer. ``note`` is limited to ``reports.max_note_chars``."""

    request_id: str = Field(min_length=1, max_length=64, description="the reported answer's request_id")
    reason: ReportReason
    note: str = Field(default="", max_length=10_000, description="optional details (personal data is masked)")


class ReportStep(BaseModel):
    status: ReportStatus
    at: str


class ReportCreated(BaseModel):
    tracking_number: str = Field(
        description="quote it to look the report up: GET /v1/reports/{tracking_number}"
    )
    status: ReportStatus
    reason: ReportReason
    created_at: str
    deadline: str = Field(description="ISO 8601 (UTC): the report is due to be 已办结 by then")


class ReportStatusOut(ReportCreated):
    overdue: bool
    updated_at: str
    handler_note: str = Field(default="", description="the handling department's reply, once given")
    history: list[ReportStep] = []


class ReportedExchange(BaseModel):
    question: str
    answer: str
    answered_by: str = ""
    channel: str = ""
    created_at: str
    citations: list[dict[str, Any]] = []


class ReportAdminOut(ReportStatusOut):
    request_id: str
    note: str
    exchange: ReportedExchange | None = Field(
        default=None, description="the reported answer; null once its conversation was erased or purged"
    )


class ReportList(BaseModel):
    reports: list[ReportAdminOut]


class ReportUpdate(BaseModel):
    """Move a report on (待处理 → 处理中 → 已办结, one step at a time) and/or set the reply to the citizen."""

    status: ReportStatus | None = None
    handler_note: str | None = Field(default=None, max_length=10_000)


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


# --- OpenAI-compatible -------------------------------------------------------------------------


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class OAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "".join(p.text or "" for p in self.content if p.type in ("text", "input_text"))


_USER_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"role": {"const": "user"}, "content": {"type": "string", "pattern": HAS_TEXT_PATTERN}},
    "required": ["role", "content"],
}


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's chat.completions request that matters here; other fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = "zhengwu-assistant"
    messages: list[OAIMessage] = Field(
        min_length=1,
        max_length=200,
        description="the last user message with text is the question",
        json_schema_extra={"contains": _USER_MESSAGE_SCHEMA},
    )
    stream: StrictBool = False
    user: str | None = None


class OAIAssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class OAIChoice(BaseModel):
    index: int = 0
    message: OAIAssistantMessage
    finish_reason: str = "stop"


class OAIUsage(BaseModel):
    """Characters stand in for tokens (Chinese text is about one token per character)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """OpenAI's chat.completion object, plus our ``citations``, ``answered_by``, ``handoff`` and ``request_id``."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[OAIChoice]
    usage: OAIUsage
    citations: list[CitationOut]
    answered_by: str
    handoff: HandoffOut | None = None
    request_id: str


class OAIModel(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class OAIModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OAIModel]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in (
        (400, "body is not JSON / not UTF-8"),
        (401, "missing or invalid API key"),
        (403, "origin not allowed"),
        (408, "request body not received in time"),
        (413, "body too large"),
        (422, "invalid input"),
        (429, "rate limited (see Retry-After)"),
        (503, "index not loaded yet, or session storage unavailable (see Retry-After)"),
    )
}
