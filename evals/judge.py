"""Optional LLM-judged metrics (RAGAS-style faithfulness and answer relevancy, Chinese prompts).

The judge is the LLM answerer's LangChain chat model (``assistant.answering.llm.make_chat_model``:
an OpenAI-compatible endpoint, a local transformers folder or a GGUF file, per ``settings.llm``) at
temperature 0. It runs only when one is configured (``llm.model`` or ``llm.path``); otherwise the
report says ``{"skipped": "no LLM endpoint configured"}``.

- faithfulness: the judge splits the answer into statements and marks each supported or not by the
  cited text; score = supported / statements, averaged over judged rows.
- answer_relevancy: the judge writes questions the answer would answer; score = mean cosine
  similarity (configured embedder) between those questions and the real one, 0 for evasive answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import ConfigError

Chat = Callable[[str], str]  # prompt → model reply
Warn = Callable[[str], None]
JUDGE_MAX_ROWS = 100  # judged rows per run: LLM calls are slow and may cost money
JUDGE_MAX_TOKENS = 1024  # the statements JSON of a long answer

FAITHFULNESS_PROMPT = """你是严谨的事实核查员。下面给出“参考资料”和一段“回答”。
请把回答拆分为若干条独立的陈述（每条一句话），并逐条判断该陈述能否从参考资料中直接得出。
只输出 JSON，格式：{{"statements": [{{"statement": "……", "supported": 1}}]}}，supported 取 1（能得出）或 0（不能得出）。

参考资料：
{context}

回答：
{answer}
"""

RELEVANCY_PROMPT = """下面是一段政务咨询的“回答”。请写出 {n} 个不同的、这段回答正好能够回答的市民问题，
并判断回答是否含糊其辞、回避问题（例如“我不知道”“请咨询相关部门”）。
只输出 JSON，格式：{{"questions": ["……"], "noncommittal": 0}}，noncommittal 取 1（含糊回避）或 0。

回答：
{answer}
"""

_JSON_OBJ = re.compile(r"\{.*\}", re.S)


def parse_json(reply: str) -> dict[str, Any]:
    """The first JSON object in a model reply (models like to wrap JSON in prose or ``` fences)."""
    match = _JSON_OBJ.search(reply or "")
    if not match:
        raise ValueError("no JSON object in the judge's reply")
    obj = json.loads(match.group(0))
    if not isinstance(obj, dict):
        raise ValueError("judge reply is not a JSON object")
    return obj


def faithfulness(chat: Chat, answer: str, context: str) -> float | None:
    """Share of the answer's statements the judge finds supported by ``context`` (None: no statements)."""
    obj = parse_json(chat(FAITHFULNESS_PROMPT.format(context=context[:6000], answer=answer)))
    statements = obj.get("statements") or []
    verdicts = [1 if int(s.get("supported", 0)) == 1 else 0 for s in statements if isinstance(s, dict)]
    return sum(verdicts) / len(verdicts) if verdicts else None


def answer_relevancy(
    chat: Chat, embed: Callable[[list[str]], np.ndarray], question: str, answer: str, n: int = 3
) -> float:
    """Mean cosine similarity between the question and the questions the judge derives from the answer."""
    obj = parse_json(chat(RELEVANCY_PROMPT.format(n=n, answer=answer)))
    if int(obj.get("noncommittal", 0) or 0) == 1:
        return 0.0
    generated = [q for q in obj.get("questions") or [] if isinstance(q, str) and q.strip()]
    if not generated:
        return 0.0
    vecs = np.asarray(embed([question, *generated]), dtype=np.float32)
    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    return float(np.mean(vecs[1:] @ vecs[0]))


def langchain_chat(settings: Settings) -> Chat:
    """A ``Chat`` over the chat model the LLM answerer uses, at temperature 0 with room for the JSON."""
    from assistant.answering.llm import make_chat_model, to_langchain_messages

    llm = settings.llm.model_copy(update={"temperature": 0.0, "max_tokens": JUDGE_MAX_TOKENS})
    model = make_chat_model(llm)

    def chat(prompt: str) -> str:
        reply = model.invoke(to_langchain_messages([("user", prompt)]))
        content = getattr(reply, "content", reply)
        return content if isinstance(content, str) else str(content)

    return chat


def skip_reason(settings: Settings, mode: str) -> str | None:
    """Why a run gets no judged metrics, or None when the judge runs."""
    if mode != "answer":
        return "retrieval mode"
    if settings.llm.provider == "fake":
        return "the fake chat model cannot judge"
    if not (settings.llm.model or settings.llm.path):
        return "no LLM endpoint configured"
    return None


def judge_records(
    records: Sequence[dict[str, Any]],
    chat: Chat,
    embed: Callable[[list[str]], np.ndarray],
    contexts: dict[str, str],
    warn: Warn,
    max_rows: int = JUDGE_MAX_ROWS,
) -> dict[str, Any]:
    """Judge up to ``max_rows`` answered rows; per-row judge failures are counted, not fatal."""
    rows = [r for r in records if r.get("answered") and r.get("got")][:max_rows]
    faith: list[float] = []
    rel: list[float] = []
    failures = 0
    for r in rows:
        try:
            f = faithfulness(chat, r["got"], contexts.get(f"{r['dataset']}/{r['id']}", ""))
            if f is not None:
                faith.append(f)
            rel.append(answer_relevancy(chat, embed, r["question"], r["got"]))
        except Exception as exc:  # noqa: BLE001 - a flaky judge must not lose the run
            failures += 1
            if failures == 1:
                warn(f"llm judge failed on {r['id']}: {type(exc).__name__}: {exc}")
    return {
        "faithfulness": round(sum(faith) / len(faith), 4) if faith else None,
        "answer_relevancy": round(sum(rel) / len(rel), 4) if rel else None,
        "judged_rows": len(rows),
        "failures": failures,
    }


def run_judge(
    records: Sequence[dict[str, Any]],
    settings: Settings,
    mode: str,
    warn: Warn,
    contexts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """LLM-judged metrics for an answer-mode run, or a ``skipped`` note saying why there are none."""
    reason = skip_reason(settings, mode)
    if reason is not None:
        return {"skipped": reason}
    try:
        chat = langchain_chat(settings)
    except ConfigError as exc:  # a missing extra or an incomplete llm.* setting
        return {"skipped": f"llm judge: {exc}"}
    from assistant.embedders import make_embedder

    embedder = make_embedder(settings.embedder)
    result = judge_records(records, chat, embedder.embed_documents, contexts or {}, warn)
    result["model"] = settings.llm.model or settings.llm.path
    return result
