"""Contract tests every vector backend passes (FAISS and Milvus Lite): exact search, filtered search,
incremental ingest, deletes, generations and their clean-up, validity and region handling in the
retriever. Milvus runs for real on a Milvus Lite ``.db`` in the test's temp dir."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.config import IndexSettings, Settings
from assistant.embedders import make_embedder
from assistant.errors import IndexError_
from assistant.index.keyword import BM25Index
from assistant.index.rows import RowFilter, RowTable
from assistant.index.store import open_index, read_manifest, remove_generation
from assistant.index.vectors import make_vector_backend
from assistant.ingest.build import build_index_from_documents, ingest
from assistant.retrieval import HybridRetriever
from assistant.types import STATUS_REPEALED, Chunk, Document, Filters
from assistant.validity import in_force
from tests.conftest import make_settings

HAVE_MILVUS = all(importlib.util.find_spec(m) is not None for m in ("pymilvus", "milvus_lite"))
needs_milvus = pytest.mark.skipif(
    not HAVE_MILVUS, reason="pymilvus / milvus-lite not installed (pip install 'zhengwu-assistant[milvus]')"
)
BACKENDS = ["faiss", pytest.param("milvus", marks=needs_milvus)]
TODAY = "2026-11-26"


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield request.param
    if request.param == "milvus":  # stop this test's in-process Milvus Lite server
        from milvus_lite.server_manager import server_manager_instance

        for db in tmp_path.rglob("*.db"):
            server_manager_instance.release_server(str(db))


def _settings(tmp: Path, backend: str, keep: int = 1, **index: object) -> Settings:
    # a large region boost, so the region test below does not hinge on the hash embedder's scores;
    # one kept generation unless asked, so every write exercises the removal of the replaced one
    return make_settings(
        tmp,
        index={"backend": backend, **index},
        retrieval={"region_boost": 1.0},
        admin={"keep_generations": keep},
    )


# ------------------------------------------------------------------ the backend on synthetic rows


def _chunks(n: int, seed: int = 0) -> list[Chunk]:
    """Rows with every kind of metadata the filters look at, drawn at random."""
    rng = np.random.default_rng(seed)
    statuses = ["", "现行有效", STATUS_REPEALED, "已修订"]
    dates = ["", "2020-01-01", "2026-11-26", "2027-05-01"]
    types = ["guide", "faq", "policy", "law"]
    depts = ["", "广州市公安局", "北京市人力资源和社会保障局", "住房公积金管理中心", "含%和_的部门"]
    return [
        Chunk(
            id=f"c{i}",
            doc_id=f"d{i // 3}",
            text=f"文本{i}",
            title=f"标题{i}",
            metadata={
                "status": statuses[rng.integers(4)],
                "effective_date": dates[rng.integers(4)],
                "expiry_date": dates[rng.integers(4)],
                "type": types[rng.integers(4)],
                "department": depts[rng.integers(5)],
                "region": ["北京市", "广州市", ""][rng.integers(3)],
            },
        )
        for i in range(n)
    ]


def _unit(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _exact(vectors: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    scores = vectors @ q
    rows = np.arange(len(vectors)) if mask is None else np.flatnonzero(mask)
    return rows[np.argsort(-scores[rows], kind="stable")][:k]


def _built(tmp: Path, backend_name: str, n: int = 400, dim: int = 24):  # type: ignore[no-untyped-def]
    chunks = _chunks(n)
    vectors = _unit(n, dim, 1)
    folder = tmp / "index" / "gen-1-1"
    folder.mkdir(parents=True)
    backend = make_vector_backend(backend_name, IndexSettings(backend=backend_name), tmp / "index")  # type: ignore[arg-type]
    rows = RowTable.of(chunks)
    return backend, backend.build(folder, folder.name, vectors, rows), folder, chunks, vectors, rows


def test_search_is_exact_inner_product(tmp_path: Path, backend_name: str) -> None:
    backend, index, folder, _, vectors, rows = _built(tmp_path, backend_name)
    reopened = backend.open(folder, index.kind, rows)
    for seed in range(5):
        q = _unit(1, vectors.shape[1], 100 + seed)[0]
        for idx in (index, reopened):
            ids, scores = idx.search(q, 10)
            np.testing.assert_array_equal(ids, _exact(vectors, q, 10))
            np.testing.assert_allclose(scores, vectors[ids] @ q, atol=1e-5)
    ids, _ = index.search(q, 10_000)  # k beyond the row count: every row once
    assert sorted(ids.tolist()) == list(range(len(vectors)))


FILTERS = [
    RowFilter(in_force_on=TODAY),
    RowFilter(in_force_on="2020-06-01"),
    RowFilter(types=("faq", "law")),
    RowFilter(department="公安"),
    RowFilter(department="%和_"),  # LIKE wildcards are matched literally
    RowFilter(in_force_on=TODAY, types=("guide",), department="社会保障"),
    RowFilter(types=("no-such-type",)),
]


@pytest.mark.parametrize("where", FILTERS, ids=lambda f: repr(f))
def test_filtered_search_is_the_top_k_of_allowed_rows(
    tmp_path: Path, backend_name: str, where: RowFilter
) -> None:
    _, index, _, chunks, vectors, rows = _built(tmp_path, backend_name)
    mask = rows.mask(where)
    # the mask is the retriever's rules: validity.in_force, type membership, department contains
    for row, c in enumerate(chunks):
        meta = c.metadata
        expected = (
            (not where.in_force_on or in_force(meta, where.in_force_on))
            and (not where.types or meta["type"] in where.types)
            and (not where.department or where.department in meta["department"])
        )
        assert mask[row] == expected
    q = _unit(1, vectors.shape[1], 7)[0]
    ids, scores = index.search(q, 15, where)
    np.testing.assert_array_equal(ids, _exact(vectors, q, 15, mask))
    np.testing.assert_allclose(scores, vectors[ids] @ q, atol=1e-5)


def test_removed_generation_cannot_be_opened(tmp_path: Path, backend_name: str) -> None:
    backend, index, folder, _, _, rows = _built(tmp_path, backend_name)
    remove_generation(folder, IndexSettings(backend=backend_name))  # type: ignore[arg-type]
    assert not folder.exists()
    folder.mkdir()
    if backend_name == "milvus":  # only the descriptor is back: its collection must be gone
        (folder / "milvus.json").write_text(f'{{"collection": "{index.collection}"}}')  # type: ignore[attr-defined]
    with pytest.raises(IndexError_):
        backend.open(folder, index.kind, rows)


# ------------------------------------------------------------------ ingest through the store


def _doc(i: str, text: str, **kw: object) -> Document:
    return Document(id=i, title=f"标题{i}", type="page", text=text, source=f"{i}.txt", **kw)  # type: ignore[arg-type]


DOCS = [
    _doc("a", "居住证申领需要提供居民身份证、居住登记凭证。在居住地连续居住半年以上可以申领。"),
    _doc("b", "公共租赁住房保障对象应当符合户籍、收入和住房条件。申请人向街道提出申请。"),
    _doc("c", "失业保险金按月发放，领取失业保险金期间参加职工基本医疗保险。"),
]
CHANGED = [
    DOCS[0],
    _doc("b", "公共租赁住房的租金按市场租金的一定比例确定。"),
    _doc("d", "生育津贴由医疗保障部门直接发放给个人。"),
]


def _collections(s: Settings) -> list[str]:
    from pymilvus import MilvusClient

    client = MilvusClient(str((s.index_dir / "milvus.db").resolve()))
    return [n for n in client.list_collections() if n.startswith(s.index.milvus_collection_prefix + "_")]


def test_incremental_ingest_and_deletes(tmp_path: Path, backend_name: str) -> None:
    s = _settings(tmp_path, backend_name)
    first = build_index_from_documents(DOCS, s.index_dir, s)
    assert first.written
    third = build_index_from_documents(CHANGED, s.index_dir, s)
    assert third.added == ["d"] and third.changed == ["b"] and third.removed == ["c"]
    assert third.chunks_embedded < third.chunks_total  # document a's vectors were reused
    idx = open_index(s.index_dir, "hash-256", settings=s.index)
    assert idx.manifest.vector_backend == backend_name
    assert {c.doc_id for c in idx.chunks} == {"a", "b", "d"}
    # the backend holds exactly the rows of chunks.jsonl / vectors.npy: no deleted row comes back
    q = np.asarray(idx.vectors[0])
    ids, scores = idx.dense.search(q, 100)
    assert sorted(ids.tolist()) == list(range(len(idx.chunks)))
    np.testing.assert_allclose(scores, np.asarray(idx.vectors)[ids] @ q, atol=1e-5)
    assert len(list(s.index_dir.glob("gen-*"))) == 1
    if backend_name == "milvus":  # the replaced generation's collection went with its folder
        assert _collections(s) == [idx.dense.collection]  # type: ignore[attr-defined]


def test_crash_mid_write_keeps_previous_and_next_build_cleans_up(
    tmp_path: Path, backend_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _settings(tmp_path, backend_name)
    build_index_from_documents(DOCS, s.index_dir, s)
    before = open_index(s.index_dir, "hash-256", settings=s.index)

    def boom(self: BM25Index, directory: Path) -> None:  # after the vector index is built
        raise OSError("disk full")

    monkeypatch.setattr(BM25Index, "save", boom)
    with pytest.raises(OSError):
        build_index_from_documents(CHANGED, s.index_dir, s)
    monkeypatch.undo()
    idx = open_index(s.index_dir, "hash-256", settings=s.index)
    assert idx.path == before.path and {c.doc_id for c in idx.chunks} == {"a", "b", "c"}
    assert len(idx.dense.search(np.asarray(idx.vectors[0]), 100)[0]) == len(idx.chunks)
    build_index_from_documents(CHANGED, s.index_dir, s)
    assert len(list(s.index_dir.glob("gen-*"))) == 1
    if backend_name == "milvus":  # the crashed write's collection is gone too
        now = open_index(s.index_dir, "hash-256", settings=s.index)
        assert _collections(s) == [now.dense.collection]  # type: ignore[attr-defined]


def test_kept_generations_keep_their_vectors_and_older_ones_are_dropped(
    tmp_path: Path, backend_name: str
) -> None:
    s = _settings(tmp_path, backend_name, keep=2)
    for docs in (DOCS, CHANGED, DOCS):  # three writes, two kept
        assert build_index_from_documents(docs, s.index_dir, s).written
    gens = sorted(s.index_dir.glob("gen-*"))
    assert len(gens) == 2
    if backend_name == "milvus":  # one collection per kept generation, the oldest one's dropped
        assert len(_collections(s)) == 2


@needs_milvus
def test_switching_backend_reuses_vectors(tmp_path: Path) -> None:
    faiss = _settings(tmp_path, "faiss")
    build_index_from_documents(DOCS, faiss.index_dir, faiss)
    milvus = _settings(tmp_path, "milvus")
    report = build_index_from_documents(DOCS, milvus.index_dir, milvus)
    assert report.written and report.chunks_embedded == 0
    assert read_manifest(milvus.index_dir).vector_backend == "milvus"  # type: ignore[union-attr]
    assert not build_index_from_documents(DOCS, milvus.index_dir, milvus).written
    back = build_index_from_documents(DOCS, faiss.index_dir, faiss)
    assert back.written and read_manifest(faiss.index_dir).vector_backend == "faiss"  # type: ignore[union-attr]
    assert _collections(milvus) == []  # the Milvus generation was removed with its collection


# ------------------------------------------------------------------ the retriever on the mini knowledge base


def _retriever(s: Settings) -> HybridRetriever:
    r = HybridRetriever(s.index_dir, make_embedder(s.embedder), s.retrieval, s.today, index_settings=s.index)
    r.warm_up()
    return r


QUERIES = ["居住证怎么办理", "公共租赁住房申请条件", "护照丢了怎么补办", "社保卡补办", "公积金付房租"]


@pytest.mark.parametrize("pushdown", [False, True], ids=["post-filter", "pushdown"])
def test_retriever_validity_and_region(tmp_path: Path, backend_name: str, pushdown: bool) -> None:
    s = _settings(tmp_path, backend_name, filter_pushdown=pushdown)
    ingest(s)
    r = _retriever(s)
    repealed = {c.doc_id for c in r.index.chunks if c.metadata.get("status") == STATUS_REPEALED}
    title = next(c.title for c in r.index.chunks if c.doc_id in repealed)
    assert not {h.doc_id for h in r.search(title, k=10)} & repealed
    assert {h.doc_id for h in r.search(title + " 以前的废止政策", k=10)} & repealed
    assert {h.doc_id for h in r.search(title, k=10, filters=Filters(include_expired=True))} & repealed
    # the asked region is boosted (a ranking preference, not a filter): it comes first either way
    for region in ("北京市", "广州市"):
        hits = r.search("住房 申请 办理", k=10, filters=Filters(region=region))
        assert hits[0].chunk.metadata.get("region") == region
    only_faq = r.search("居住证", k=10, filters=Filters(types=["faq"]))
    assert only_faq and all(h.chunk.metadata.get("type") == "faq" for h in only_faq)


@needs_milvus
def test_both_backends_rank_alike(tmp_path: Path) -> None:
    ranked = {}
    for backend in ("faiss", "milvus"):
        s = _settings(tmp_path / backend, backend)
        ingest(s)
        r = _retriever(s)
        ranked[backend] = [[(h.chunk.id, round(h.score, 5)) for h in r.search(q, k=5)] for q in QUERIES]
    assert ranked["faiss"] == ranked["milvus"]


def test_faiss_ivf_filtered_search_returns_only_allowed_rows() -> None:
    from assistant.index.vectors import FaissIndex

    chunks, vectors = _chunks(2000), _unit(2000, 24, 3)
    rows = RowTable.of(chunks)
    ivf = FaissIndex.build(vectors, exact_max=100, rows=rows)
    assert ivf.kind == "ivf"
    where = RowFilter(in_force_on=TODAY, types=("faq", "guide"))
    mask = rows.mask(where)
    q = _unit(1, 24, 9)[0]
    ids, _ = ivf.search(q, 20, where)
    assert len(ids) == 20 and mask[ids].all()
    # the same lists are probed: the filtered top 20 are the allowed rows of the unfiltered search
    probed, _ = ivf.search(q, len(vectors))
    np.testing.assert_array_equal(ids, probed[mask[probed]][:20])
