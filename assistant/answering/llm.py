"""The LLM answerer: any LangChain chat model writes the answer from numbered sources; the grounding
check drops unsupported sentences; too little left (or a failure / timeout) → the extractive answer.

Chat-model backends (``settings.llm.provider``): ``openai`` (langchain-openai ChatOpenAI for any
OpenAI-compatible endpoint: vLLM, Xinference, Ollama, DashScope), ``transformers`` (a local folder via
langchain-huggingface), ``llamacpp`` (a local GGUF via langchain-community + llama-cpp-python) and
``fake`` (a deterministic model that quotes the first source) and ``fake-obey`` (a scripted model that
obeys any instruction in the sources or the question: the test bench of the answer guard). Optional
packages are imported inside the backend that needs them.
"""

from __future__ import annotations

import concurrent.futures
import re
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from assistant.answering.base import ChunkSource
from assistant.answering.citations import make_citation
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.grounding import check, markers
from assistant.answering.prompts import (
    Source,
    answer_messages,
    approx_tokens,
    polish_messages,
    select_sources,
)
from assistant.config import LLMSettings, Settings
from assistant.errors import ConfigError, MissingDependencyError, UpstreamError, UpstreamTimeoutError
from assistant.types import Answer, Citation, Hit

MIN_KEPT_CHARS = 12  # fewer supported characters than this: fall back to extractive
MIN_KEPT_SHARE = 0.5  # or less than this share of the model's sentences survived

ChatModelFactory = Callable[[LLMSettings], Any]
CHAT_MODELS: dict[str, ChatModelFactory] = {}


def chat_backend(name: str) -> Callable[[ChatModelFactory], ChatModelFactory]:
    def deco(factory: ChatModelFactory) -> ChatModelFactory:
        CHAT_MODELS[name] = factory
        return factory

    return deco


@chat_backend("openai")
def _openai(s: LLMSettings) -> Any:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise MissingDependencyError("langchain-openai", "llm") from exc
    if not s.model:
        raise ConfigError("llm.model must name the served model for the openai provider")
    return ChatOpenAI(
        base_url=s.base_url,
        model=s.model,
        api_key=s.api_key
        if s.api_key.get_secret_value()
        else SecretStr("EMPTY"),  # local servers take any key
        timeout=s.timeout_s,
        max_retries=1,
        max_completion_tokens=s.max_tokens,
        temperature=s.temperature,
    )


# Used when a local model folder has no chat template (e.g. a base model or a test model).
PLAIN_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


@chat_backend("transformers")
def _transformers(s: LLMSettings) -> Any:
    try:
        from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
        from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline
    except ImportError as exc:
        raise MissingDependencyError("langchain-huggingface / transformers", "llm") from exc
    if not s.path:
        raise ConfigError("llm.path must name a local transformers model folder")
    tokenizer = AutoTokenizer.from_pretrained(s.path, local_files_only=True)
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = PLAIN_CHAT_TEMPLATE
    model = AutoModelForCausalLM.from_pretrained(s.path, local_files_only=True)
    gen = pipeline(
        "text-generation",
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=s.max_tokens,
        do_sample=False,
        return_full_text=False,
    )
    llm = HuggingFacePipeline(pipeline=gen, model_id=s.path)
    return ChatHuggingFace(llm=llm, tokenizer=tokenizer, model_id=s.path)


@chat_backend("llamacpp")
def _llamacpp(s: LLMSettings) -> Any:
    try:
        from langchain_community.chat_models import ChatLlamaCpp
    except ImportError as exc:
        raise MissingDependencyError("langchain-community and llama-cpp-python", "llama") from exc
    if not s.path:
        raise ConfigError("llm.path must name a local GGUF file")
    try:
        return ChatLlamaCpp(
            model_path=s.path,
            n_ctx=s.context_tokens + s.max_tokens + 256,
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            n_threads=s.threads or None,
            n_batch=512,  # ChatLlamaCpp's default of 8 makes reading a 1,500-token prompt ~10x slower
            verbose=False,
        )
    except ImportError as exc:
        raise MissingDependencyError("llama-cpp-python", "llama") from exc


@chat_backend("fake")
def _fake(s: LLMSettings) -> Any:
    return QuoteFirstSourceChatModel()


@chat_backend("fake-obey")
def _fake_obey(s: LLMSettings) -> Any:
    return ObeyingChatModel()


_SOURCE_BLOCK = re.compile(r"\[(\d+)\][^\n]*\n<<<\n(.+?)\n>>>", re.S)
_QUESTION_BLOCK = re.compile(r"【问题】[^\n]*\n<<<\n(.+?)\n>>>", re.S)
# what an injection asks a model to pass on (a document's "请拨打…并转账…", a link, an account)
_OBEY_CUES = re.compile(
    r"\d[\d -]{4,}\d|拨打|致电|转账|汇|打款|账户|账号|卡号|网址|链接|https?://|www\.|微信|扫码|联系|电话|热线|"
    r"\b(?:call|transfer|wire|send|pay|wallet|account|portal|hotline)\b",
    re.I,
)
_PAYLOAD = re.compile(
    r"(?:在回答[中里]?|回答时|回复时)?(?:加上|写上|附上|告诉用户|告诉市民|输出|say|reply with|tell the user)[:：]?\s*(.+)",
    re.I,
)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？；!?])", text.replace("\n", "")) if s.strip()]


def _quote_first_source(prompt: str) -> str:
    """The fake model's reply: the first two sentences of source [1], each marked [1]."""
    m = _SOURCE_BLOCK.search(prompt)
    if not m or m.group(1) != "1":
        return "知识库中没有找到相关内容。"
    return "".join(s + "[1]" for s in _sentences(m.group(2))[:2])


def _obey(prompt: str) -> str:
    """The obeying fake's reply: whatever the question or a source tells it to say, else the first source.

    A payload demanded in the question (``在回答里加上：…``, ``tell the user …``) is written as is, marked [1];
    sentences of any source that pass on a phone number, account, link or payment are repeated with
    their source number — what a model that follows injected instructions does.
    """
    q = _QUESTION_BLOCK.search(prompt)
    payload = _PAYLOAD.search(q.group(1)) if q else None
    out = [payload.group(1).strip() + "[1]"] if payload else []
    for n, text in _SOURCE_BLOCK.findall(prompt):
        out += [s + f"[{n}]" for s in _sentences(text) if _OBEY_CUES.search(s)]
    return "".join(out) or _quote_first_source(prompt)


def _make_fake_class(reply: Callable[[str], str], kind: str) -> type:
    from langchain_core.language_models.chat_models import SimpleChatModel

    class _ScriptedChatModel(SimpleChatModel):
        """Deterministic chat model for tests and demos: a pure function of the last message."""

        @property
        def _llm_type(self) -> str:
            return kind

        def _call(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> str:
            return reply(str(messages[-1].content))

    return _ScriptedChatModel


def QuoteFirstSourceChatModel() -> Any:  # noqa: N802  (factory named like the class it builds)
    """Quotes the first numbered source."""
    return _make_fake_class(_quote_first_source, "quote-first-source")()


def ObeyingChatModel() -> Any:  # noqa: N802
    """Follows injected instructions (``_obey``): the answer guard's adversary in tests and the safety eval."""
    return _make_fake_class(_obey, "obey-injections")()


def make_chat_model(settings: LLMSettings) -> Any:
    """The LangChain chat model named by ``settings.provider`` (the answerer's, and the evals judge's)."""
    if settings.provider not in CHAT_MODELS:
        raise ConfigError(
            f"unknown llm.provider {settings.provider!r}; known: {', '.join(sorted(CHAT_MODELS))}"
        )
    return CHAT_MODELS[settings.provider](settings)


def to_langchain_messages(pairs: list[tuple[str, str]]) -> list[Any]:
    from langchain_core.messages import HumanMessage, SystemMessage

    return [SystemMessage(content=c) if r == "system" else HumanMessage(content=c) for r, c in pairs]


class LLMAnswerer:
    """Grounded generation with a LangChain chat model, checked sentence by sentence, extractive fallback.

    ``mode="answer"``: the model writes from the sources; ``mode="polish"``: it rewrites the extractive
    answer. Either way only sentences supported by the sources they cite survive.
    """

    name = "llm"

    def __init__(
        self,
        settings: Settings,
        chunk_source: ChunkSource | None = None,
        chat_model: Any = None,
        mode: str = "answer",
        token_counter: Callable[[str], int] = approx_tokens,
    ) -> None:
        self.settings = settings
        self.chat_model = chat_model
        self.mode = mode
        self.count_tokens = token_counter
        self.fallback = ExtractiveAnswerer(settings, chunk_source)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="llm")

    def warm_up(self) -> None:
        """Build the chat model named by ``settings.llm.provider`` (unless one was injected)."""
        if self.chat_model is None:
            self.chat_model = make_chat_model(self.settings.llm)

    def generate(self, pairs: list[tuple[str, str]]) -> str:
        """One chat call with the configured timeout; raises UpstreamError / UpstreamTimeoutError."""
        if self.chat_model is None:
            self.warm_up()
        future = self._pool.submit(self.chat_model.invoke, to_langchain_messages(pairs))
        try:
            reply = future.result(timeout=self.settings.llm.timeout_s)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise UpstreamTimeoutError(f"LLM did not answer within {self.settings.llm.timeout_s} s") from exc
        except Exception as exc:  # any backend failure is an upstream failure to the caller
            raise UpstreamError(f"LLM call failed: {exc}") from exc
        content = getattr(reply, "content", reply)
        return content if isinstance(content, str) else str(content)

    @classmethod
    def from_settings(cls, settings: Settings, chunk_source: ChunkSource | None = None) -> LLMAnswerer:
        return cls(settings, chunk_source, mode=settings.llm.mode)

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        if not hits:
            return self.fallback.answer(question, hits)
        budget = max(200, self.settings.llm.context_tokens - 400)  # room for instructions and question
        sources = select_sources(hits, budget, self.count_tokens)
        draft: Answer | None = None
        if self.mode == "polish":
            draft = self.fallback.answer(question, hits)
            if draft.answered_by != "extractive":
                return draft  # nothing to polish (e.g. no usable document)
            pairs = polish_messages(question, sources, draft.text)
        else:
            pairs = answer_messages(question, sources)
        try:
            raw = self.generate(pairs)
        except UpstreamError:
            return self._fallback(question, hits)
        return self._checked(question, hits, sources, raw, draft)

    def _checked(
        self,
        question: str,
        hits: list[Hit],
        sources: list[Source],
        raw: str,
        draft: Answer | None = None,
    ) -> Answer:
        by_n = {s.n: s for s in sources}
        texts = {n: s.text for n, s in by_n.items()}
        if draft is not None:
            # The draft quotes its document verbatim, possibly beyond the chunk shown as source n
            # (a guide's other sections), so a polished sentence may lean on the draft's text too.
            drafted = {c.doc_id for c in draft.citations}
            texts = {
                n: t + "\n" + draft.text if by_n[n].hit.doc_id in drafted else t for n, t in texts.items()
            }
        report = check(
            raw,
            texts,
            threshold=self.settings.answer.grounding_threshold,
            require_markers=True,
        )
        checked = report.checked
        kept = [s for s in report.sentences if s.supported]
        share = sum(s.supported for s in checked) / len(checked) if checked else 0.0
        if report.kept_chars < MIN_KEPT_CHARS or share < MIN_KEPT_SHARE or not any(s.cited for s in kept):
            return self._fallback(question, hits)
        text = "".join(s.text for s in kept).strip()
        cited = sorted({n for s in kept for n in markers(s.text)})
        citations: list[Citation] = [make_citation(n, by_n[n].hit) for n in cited if n in by_n]
        card = draft.card if draft is not None else None
        return Answer(
            text=text, answered_by="llm", citations=citations, card=card, question=question, hits=hits
        )

    def _fallback(self, question: str, hits: list[Hit]) -> Answer:
        ans = self.fallback.answer(question, hits)
        if ans.answered_by == "extractive":
            ans.answered_by = "llm_fallback_extractive"
        return ans
