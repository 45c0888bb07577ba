"""Vector backends at scale: FAISS vs Milvus (Lite or a server) on 100k / 1M synthetic chunks.

Synthetic corpus: unit vectors of the real dimension drawn around the real embeddings shipped in
``knowledge/_vectors/embeddings.npz`` (a random real vector plus Gaussian noise of norm ``--noise``,
re-normalised; cosine to its base ≈ 0.9), with scalar metadata like the real index (10 % repealed,
some expiry dates, four types). Queries: other real vectors with less noise. Each (size, backend)
runs in its own process through the production ``VectorBackend`` (``assistant/index/vectors.py``,
``milvus.py``) so memory is measured per backend. Records build/insert time, peak RSS, disk size,
search p50/p95 (wall clock, and CPU time of the process, which a shared box inflates less) for the
retriever's top-50 dense candidates, with and without a pushed-down validity
filter, and recall@10 against exact search.

    nice python benchmarks/milvus_scale.py --sizes 100000 1000000 --backends faiss milvus \\
        --out docs/benchmarks/milvus_scale.json
    python benchmarks/milvus_scale.py --one 100000 milvus          # one run, prints one JSON line
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from assistant.config import IndexSettings
from assistant.index.rows import RowFilter, RowTable
from assistant.index.vectors import make_vector_backend
from assistant.validity import NOT_IN_FORCE, ValidityTable

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "knowledge" / "_vectors" / "embeddings.npz"
TODAY = "2026-11-26"


def real_vectors() -> np.ndarray:
    with np.load(SEED, allow_pickle=False) as z:
        v = z["vectors"].astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def around(
    base: np.ndarray, n: int, noise: float, rng: np.random.Generator, block: int = 100_000
) -> np.ndarray:
    """``n`` unit vectors, each a random row of ``base`` plus Gaussian noise of norm ~``noise``."""
    dim = base.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, block):
        m = min(block, n - start)
        x = base[rng.integers(0, len(base), m)]
        x = x + (noise / np.sqrt(dim)) * rng.standard_normal((m, dim)).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def metadata(n: int, rng: np.random.Generator) -> RowTable:
    """Per-row metadata as the store builds it from chunks (built from arrays: 1M ``Chunk`` objects
    would cost more memory than the vectors)."""
    status = np.where(rng.random(n) < 0.10, "已废止", "现行有效")
    expiry = np.where(rng.random(n) < 0.05, "2024-12-31", "")
    types = np.array(["guide", "faq", "policy", "law"])[rng.integers(0, 4, n)]
    empty = np.full(n, "", dtype="<U1")
    fields = {"region": np.full(n, "北京市"), "type": types, "department": empty, "status": status}
    fields |= {"effective_date": empty, "expiry_date": expiry}
    validity = ValidityTable(np.isin(status, list(NOT_IN_FORCE)), empty, expiry)
    return RowTable(np.char.add("d", (np.arange(n) // 4).astype(str)), fields, validity)


class RssGuard(threading.Thread):
    """Ends the process (exit 3, one JSON line) when its resident memory passes ``limit_mb``: the box
    is shared, and Milvus Lite's memory per row is what is being measured."""

    def __init__(self, limit_mb: float, label: dict[str, object]) -> None:
        super().__init__(daemon=True)
        self.limit_mb, self.label = limit_mb, label

    def run(self) -> None:
        while True:
            rss = rss_mb()
            if rss > self.limit_mb:
                print(
                    json.dumps(self.label | {"aborted": f"RSS {rss:.0f} MB > {self.limit_mb:.0f} MB"}),
                    flush=True,
                )
                os._exit(3)
            time.sleep(1)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def run_one(n: int, backend_name: str, args: argparse.Namespace) -> dict[str, object]:
    rng = np.random.default_rng(args.seed)
    base = real_vectors()
    vectors = around(base, n, args.noise, rng)
    queries = around(base, args.queries, args.noise / 2, np.random.default_rng(args.seed + 1))
    rows = metadata(n, rng)
    RssGuard(args.max_rss_mb, {"chunks": n, "backend": backend_name, "elapsed_s": 0}).start()
    rss_data = peak_rss_mb()
    settings = IndexSettings(
        backend=backend_name,  # type: ignore[arg-type]
        milvus_uri=args.milvus_uri,
        milvus_index_type=args.milvus_index_type,
        milvus_index_params=json.loads(args.milvus_index_params),
        milvus_search_params=json.loads(args.milvus_search_params),
        milvus_insert_batch=args.batch,
    )
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        index_dir = Path(tmp)
        folder = index_dir / f"gen-bench-{n}"
        folder.mkdir()
        backend = make_vector_backend(backend_name, settings, index_dir)
        t, c = time.perf_counter(), time.process_time()
        index = backend.build(folder, folder.name, vectors, rows)
        build_s, build_cpu_s = time.perf_counter() - t, time.process_time() - c
        where = RowFilter(in_force_on=TODAY)
        mask = rows.mask(where)
        lat: dict[str, list[float]] = {"plain": [], "filtered": []}
        cpu: dict[str, list[float]] = {"plain": [], "filtered": []}
        recall: dict[str, list[float]] = {"plain": [], "filtered": []}
        for q in queries[: args.warmup]:
            index.search(q, args.k)
        for q in queries:
            scores = vectors @ q
            for label, w in (("plain", None), ("filtered", where)):
                t, c = time.perf_counter(), time.process_time()
                ids, _ = index.search(q, args.k, w)
                lat[label].append((time.perf_counter() - t) * 1000)
                cpu[label].append((time.process_time() - c) * 1000)  # all threads: Lite serves in-process
                allowed = scores if w is None else np.where(mask, scores, -np.inf)
                exact = np.argpartition(-allowed, 10)[:10]
                recall[label].append(len(set(ids[:10].tolist()) & set(exact.tolist())) / 10)
        size = disk_mb(index_dir)
        backend.drop(folder)
    result: dict[str, object] = {
        "chunks": n,
        "backend": backend_name,
        "kind": index.kind,
        "dim": int(vectors.shape[1]),
        "build_s": round(build_s, 1),
        "build_cpu_s": round(build_cpu_s, 1),
        "peak_rss_mb": round(peak_rss_mb(), 0),
        "rss_before_build_mb": round(rss_data, 0),
        "disk_mb": round(size, 0),
        "queries": len(queries),
        "k": args.k,
    }
    for label in lat:
        result[f"{label}_p50_ms"] = round(float(np.percentile(lat[label], 50)), 2)
        result[f"{label}_p95_ms"] = round(float(np.percentile(lat[label], 95)), 2)
        result[f"{label}_cpu_p50_ms"] = round(float(np.percentile(cpu[label], 50)), 2)
        result[f"{label}_cpu_p95_ms"] = round(float(np.percentile(cpu[label], 95)), 2)
        result[f"{label}_recall_at_10"] = round(float(np.mean(recall[label])), 3)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--backends", nargs="+", default=["faiss", "milvus"])
    p.add_argument("--one", nargs=2, metavar=("SIZE", "BACKEND"), help="run one size/backend here")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument(
        "--k", type=int, default=50, help="dense candidates per search (retrieval.dense_candidates)"
    )
    p.add_argument("--noise", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=2000, help="Milvus rows per insert")
    p.add_argument("--milvus-uri", default="", help="empty: Milvus Lite in the temp dir")
    p.add_argument("--milvus-index-type", default="FLAT")
    p.add_argument("--milvus-index-params", default="{}")
    p.add_argument("--milvus-search-params", default="{}")
    p.add_argument("--max-rss-mb", type=float, default=9000, help="abort a run whose RSS passes this")
    p.add_argument("--tmp", default=None, help="temp dir parent (Milvus Lite data, FAISS file)")
    p.add_argument("--out", type=Path, default=None, help="append results (JSON lines) here")
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_one(int(args.one[0]), args.one[1], args), ensure_ascii=False), flush=True)
        return
    skip = {"--sizes": len(args.sizes), "--backends": len(args.backends), "--out": 1}
    passthrough, it = [], iter(sys.argv[1:])
    for a in it:
        if a in skip:
            for _ in range(skip[a]):
                next(it, None)
        else:
            passthrough.append(a)
    for n in args.sizes:
        for backend in args.backends:
            cmd = [sys.executable, __file__, "--one", str(n), backend, *passthrough]
            line = subprocess.run(cmd, capture_output=True, text=True, env=os.environ).stdout
            row = line.strip().splitlines()[-1]
            print(row, flush=True)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as fh:
                    fh.write(row + "\n")


if __name__ == "__main__":
    main()
