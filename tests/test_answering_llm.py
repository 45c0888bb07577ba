"""The LLM answerer: scripted LangChain fake chat models and a tiny random-weight transformers model."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.answering import make_answerer
from assistant.answering.llm import CHAT_MODELS, LLMAnswerer
from assistant.answering.prompts import answer_messages, approx_tokens, select_sources
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.types import Chunk, Hit

SRC1 = "申请人应当提交居民身份证、户口簿和近期免冠照片。办理时限为七个工作日。"
SRC2 = "本市公共租赁住房的租金标准按照市场租金的一定比例确定。"


def hit(doc_id: str, text: str, score: float = 1.0, **meta: Any) -> Hit:
    m = {"doc_id": doc_id, "title": f"{doc_id}标题", "type": "faq", "status": "现行有效", **meta}
    return Hit(
        chunk=Chunk(id=f"{doc_id}#0", doc_id=doc_id, text=text, title=m["title"], metadata=m), score=score
    )


HITS = [hit("a", SRC1, 0.9), hit("b", SRC2, 0.8)]


def settings(**llm: Any) -> Settings:
    return Settings(embedder={"name": "hash"}, answer={"answerer": "llm"}, llm=llm, today="2025-06-01")


def test_grounded_reply_is_kept_with_its_citations() -> None:
    model = FakeListChatModel(
        responses=["办理时需提交居民身份证、户口簿和近期免冠照片[1]。办理时限为七个工作日[1]。"]
    )
    ans = LLMAnswerer(settings(), chat_model=model).answer("办身份证要什么材料", HITS)
    assert ans.answered_by == "llm"
    assert ans.text.count("[1]") == 2
    assert [c.n for c in ans.citations] == [1] and ans.citations[0].doc_id == "a"


def test_unsupported_sentences_are_dropped() -> None:
    reply = "办理时限为七个工作日[1]。申请人应当提交居民身份证和户口簿[1]。另外需要缴纳手续费三百元并到街道盖章[2]。"
    model = GenericFakeChatModel(messages=iter([AIMessage(content=reply)]))
    ans = LLMAnswerer(settings(), chat_model=model).answer("要多久", HITS)
    assert ans.answered_by == "llm"
    assert "手续费" not in ans.text and "七个工作日" in ans.text
    assert [c.n for c in ans.citations] == [1]


def test_hallucinated_reply_falls_back_to_extractive() -> None:
    model = FakeListChatModel(responses=["根据最新政策，全市居民均可免费领取五百元补贴[1]。"])
    ans = LLMAnswerer(settings(), chat_model=model).answer("有什么补贴", HITS)
    assert ans.answered_by == "llm_fallback_extractive"
    assert ans.text == SRC1 + "[1]"


def test_reply_without_markers_falls_back() -> None:
    model = FakeListChatModel(responses=["申请人应当提交居民身份证、户口簿和近期免冠照片。"])
    assert (
        LLMAnswerer(settings(), chat_model=model).answer("材料", HITS).answered_by
        == "llm_fallback_extractive"
    )


def test_failing_and_slow_models_fall_back() -> None:
    class Boom(FakeListChatModel):
        def invoke(self, *a: Any, **k: Any) -> Any:
            raise RuntimeError("connection refused")

    class Slow(FakeListChatModel):
        def invoke(self, *a: Any, **k: Any) -> Any:
            time.sleep(1.0)
            return AIMessage(content="办理时限为七个工作日[1]。")

    boom = LLMAnswerer(settings(), chat_model=Boom(responses=["x"])).answer("材料", HITS)
    assert boom.answered_by == "llm_fallback_extractive"
    slow = LLMAnswerer(settings(timeout_s=0.2), chat_model=Slow(responses=["x"])).answer("材料", HITS)
    assert slow.answered_by == "llm_fallback_extractive"


def test_polish_mode_sends_the_extractive_draft() -> None:
    seen: list[str] = []

    class Recorder(FakeListChatModel):
        def invoke(self, messages: Any, *a: Any, **k: Any) -> Any:
            seen.append(str(messages[-1].content))
            return AIMessage(content="申请人应当提交居民身份证、户口簿和近期免冠照片[1]。")

    ans = LLMAnswerer(settings(), chat_model=Recorder(responses=["x"]), mode="polish").answer("材料", HITS)
    assert ans.answered_by == "llm" and "【摘录的回答】" in seen[0] and SRC1 in seen[0]


def test_prompt_numbers_sources_and_respects_the_token_budget() -> None:
    long = [hit(f"d{i}", "政务服务事项办理说明。" * 40, 1.0 - i / 10) for i in range(6)]
    sources = select_sources(long, budget_tokens=1000)
    assert sum(approx_tokens(s.text) + 20 for s in sources) <= 1000
    assert [s.n for s in sources] == list(range(1, len(sources) + 1))
    system, user = answer_messages("问题", sources)
    assert "[编号]" in system[1] and "[1] 《d0标题》" in user[1] and "<<<\n问题\n>>>" in user[1]
    assert approx_tokens("居住证 residence permit") == 3 + 2 + 1


def test_fake_provider_and_registry() -> None:
    ans = make_answerer(settings(provider="fake"))
    ans.warm_up()
    out = ans.answer("材料", HITS)
    assert out.answered_by == "llm" and out.text.startswith("申请人应当提交")
    with pytest.raises(ConfigError):
        LLMAnswerer(settings(provider="nope")).warm_up()
    assert {"openai", "transformers", "llamacpp", "fake"} <= set(CHAT_MODELS)


def test_openai_provider_builds_a_chat_openai_client_without_calling_it() -> None:
    model = CHAT_MODELS["openai"](settings(model="qwen2.5-7b-instruct", base_url="http://127.0.0.1:9/v1").llm)
    assert type(model).__name__ == "ChatOpenAI" and model.model_name == "qwen2.5-7b-instruct"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GPT-2 with random weights and a BPE tokenizer trained here (no downloads)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("tiny-gpt2")
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    corpus = [
        SRC1,
        SRC2,
        "你是政务服务智能助手，只能依据资料回答。",
        "system user assistant 资料 问题 [1] [2]",
    ] * 5
    tok.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=300,
            special_tokens=["<unk>", "<eos>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>", pad_token="<eos>"
    )
    fast.save_pretrained(path)
    config = GPT2Config(
        vocab_size=fast.vocab_size,
        n_positions=4096,
        n_embd=16,
        n_layer=1,
        n_head=2,
        eos_token_id=fast.eos_token_id,
        bos_token_id=fast.eos_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(path)
    return path


def test_tiny_random_transformers_model_is_rejected_by_grounding(tiny_model_dir: Path) -> None:
    s = settings(provider="transformers", path=str(tiny_model_dir), max_tokens=24, timeout_s=60)
    answerer = make_answerer(s)
    answerer.warm_up()
    assert type(answerer.chat_model).__name__ == "ChatHuggingFace"  # type: ignore[attr-defined]
    ans = answerer.answer("办身份证要什么材料", HITS)
    assert ans.answered_by == "llm_fallback_extractive"
    assert ans.text == SRC1 + "[1]" and ans.citations[0].doc_id == "a"


def test_polish_mode_from_settings_keeps_supported_rewrites_and_drops_additions() -> None:
    answerer = make_answerer(settings(mode="polish"))
    assert isinstance(answerer, LLMAnswerer) and answerer.mode == "polish"
    answerer.chat_model = FakeListChatModel(
        responses=[
            "您需要提交居民身份证、户口簿和近期免冠照片[1]。办理时限为七个工作日[1]。"
            "另需缴纳工本费二十元[1]。",  # added fact: dropped by the grounding check
            "请直接前往任意派出所办理，当场即可取证[1]。",  # nothing supported: extractive draft instead
        ]
    )
    polished = answerer.answer("办身份证要什么材料", HITS)
    assert polished.answered_by == "llm"
    assert "居民身份证" in polished.text and "工本费" not in polished.text
    assert [c.doc_id for c in polished.citations] == ["a"]
    fallback = answerer.answer("办身份证要什么材料", HITS)
    assert fallback.answered_by == "llm_fallback_extractive" and fallback.text == SRC1 + "[1]"
