"""Shipped vectors (issue 19, item 5): a fresh ingest seeds its embedding cache from
``knowledge/_vectors/embeddings.npz`` and embeds only what the file lacks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import MINI_KNOWLEDGE, make_settings

from assistant.cli import main
from assistant.embedders import HashEmbedder
from assistant.index.embcache import SEED_FILE, EmbeddingCache, seed_cache, write_seed
from assistant.index.store import open_index
from assistant.ingest.build import ingest

ROOT = Path(__file__).resolve().parents[1]


class CountingEmbedder(HashEmbedder):
    """The hash embedder under a name that uses the embedding cache, counting texts it embeds."""

    def __init__(self, name: str = "counting") -> None:
        super().__init__(dim=64)
        self.name = name
        self.embedded = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return super().embed_documents(texts)


def test_seed_round_trip_and_other_models_ignored(tmp_path: Path) -> None:
    texts = ["居住证", "护照", "居住证"]
    vecs = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs[2] = vecs[0]
    assert write_seed(tmp_path / "s.npz", "m1", texts, vecs) == 2
    cache = EmbeddingCache(tmp_path / "c.sqlite3")
    assert seed_cache(cache, "other-model", tmp_path / "s.npz", texts) == 0
    assert seed_cache(cache, "m1", tmp_path / "missing.npz", texts) == 0
    assert seed_cache(cache, "m1", tmp_path / "s.npz", ["护照", "不在其中"]) == 1
    from assistant.index.embcache import text_key

    got = cache.get_many("m1", [text_key("护照")])[text_key("护照")]
    assert float(got @ vecs[1]) > 0.9999
    assert seed_cache(cache, "m1", tmp_path / "s.npz", texts) == 1  # 护照 already there: only 居住证
    cache.close()


def test_fresh_ingest_embeds_only_what_the_shipped_file_lacks(tmp_path: Path) -> None:
    import shutil

    kb = tmp_path / "kb"
    shutil.copytree(MINI_KNOWLEDGE, kb)
    first = make_settings(tmp_path / "a", knowledge_dir=kb)
    ingest(first, embedder=CountingEmbedder())
    assert main(["vectors", "--index", str(first.index_dir), "--knowledge", str(kb)]) == 0
    assert (kb / SEED_FILE).exists()

    (kb / "faq" / "new.jsonl").write_text(
        '{"question": "新问题？", "answer": "新答案。"}\n', encoding="utf-8"
    )
    fresh = make_settings(tmp_path / "b", knowledge_dir=kb)  # new cache dir, new index dir
    counting = CountingEmbedder()
    report = ingest(fresh, embedder=counting)
    assert counting.embedded == 1  # only the new FAQ's one chunk
    assert report.chunks_seeded == report.chunks_embedded - 1
    a = open_index(first.index_dir)
    b = open_index(fresh.index_dir)
    rows = {c.id: i for i, c in enumerate(b.chunks)}
    for i, c in enumerate(a.chunks):
        assert float(np.asarray(a.vectors[i]) @ np.asarray(b.vectors[rows[c.id]])) > 0.9999


def test_the_shipped_file_covers_the_starter_knowledge_base() -> None:
    """Stale shipped vectors make a first ``make run`` embed for half an hour: re-run ``make vectors``."""
    from assistant.config import ChunkSettings
    from assistant.e5.adapter import TunedImage
    from assistant.index.embcache import text_key
    from assistant.ingest.chunking import chunk_documents
    from assistant.ingest.loaders import iter_knowledge

    path = ROOT / "knowledge" / SEED_FILE
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make vectors`")
    with np.load(path) as data:
        model, keys = str(data["model"]), {bytes(k).hex() for k in data["keys"]}
        assert data["vectors"].dtype == np.float16
    assert model == TunedImage("gov-qa").name, "shipped vectors are for another embedder: run `make vectors`"
    docs, _ = iter_knowledge(ROOT / "knowledge")
    wanted = {text_key(c.embed_text or c.text) for c in chunk_documents(docs, ChunkSettings())}
    covered = len(wanted & keys) / len(wanted)
    assert covered >= 0.95, f"shipped vectors cover {covered:.0%} of the starter chunks: run `make vectors`"
    assert path.stat().st_size < 15 * 2**20
