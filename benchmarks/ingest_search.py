"""Ingest throughput and search latency on the starter knowledge base.

Measures: loading + chunking the whole knowledge base; embedding throughput (chunks/s, chars/s) on a
deterministic sample of chunks with the configured embedder (cache bypassed); BM25 build time;
a no-change re-ingest (manifest check only) against the built index; and search latency p50/p95 for
the dev questions against the built index (query embedding included). Writes
docs/benchmarks/ingest_search.{md,json}.

    python benchmarks/ingest_search.py [--sample 256] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.embedders import make_embedder
from assistant.index.keyword import BM25Index
from assistant.ingest.build import ingest, keyword_text
from assistant.ingest.chunking import chunk_document
from assistant.ingest.loaders import iter_knowledge
from assistant.pipeline import Assistant
from assistant.text import tokenize


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=256)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    args = ap.parse_args()
    settings = Settings()
    res: dict[str, object] = {
        "embedder": settings.embedder.name,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }

    t = time.perf_counter()
    docs, _ = iter_knowledge(settings.knowledge_dir)
    res["load_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    chunks = [c for d in docs for c in chunk_document(d, settings.chunking)]
    res["chunk_s"] = round(time.perf_counter() - t, 2)
    res["documents"], res["chunks"] = len(docs), len(chunks)
    total_chars = sum(len(c.embed_text or c.text) for c in chunks)
    res["chars_to_embed"] = total_chars

    emb = make_embedder(settings.embedder)
    emb.warm_up()
    sample = random.Random(0).sample(chunks, min(args.sample, len(chunks)))
    texts = [c.embed_text or c.text for c in sample]
    t = time.perf_counter()
    emb.embed_documents(texts)
    dt = time.perf_counter() - t
    res["embed_chunks_per_s"] = round(len(texts) / dt, 1)
    res["embed_chars_per_s"] = round(sum(map(len, texts)) / dt, 1)
    res["projected_full_embed_min"] = round(total_chars / (sum(map(len, texts)) / dt) / 60, 1)

    t = time.perf_counter()
    BM25Index.build([tokenize(keyword_text(c)) for c in chunks])
    res["bm25_build_s"] = round(time.perf_counter() - t, 2)

    if (settings.index_dir / "CURRENT").exists():
        t = time.perf_counter()
        rep = ingest(settings)
        res["noop_reingest_s"] = round(time.perf_counter() - t, 2)
        res["noop_reingest_wrote"] = rep.written
        assistant = Assistant.from_settings(settings)
        assistant.warm_up()
        lines = Path("evals/datasets/beijing_qa_dev.jsonl").read_text(encoding="utf-8").splitlines()
        qs = [json.loads(line)["question"] for line in lines if line.strip()][: args.queries]
        assistant.search(qs[0])
        lat = []
        for q in qs:
            t = time.perf_counter()
            assistant.search(q, k=10)
            lat.append((time.perf_counter() - t) * 1000)
        res["search_p50_ms"] = round(float(np.percentile(lat, 50)), 2)
        res["search_p95_ms"] = round(float(np.percentile(lat, 95)), 2)
        res["index_chunks"] = assistant.describe()["index_size"]
    print(json.dumps(res, ensure_ascii=False, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ingest_search.json").write_text(json.dumps(res, ensure_ascii=False, indent=1))
    lines = [
        "# Ingest and search on the starter knowledge base",
        "",
        "`python benchmarks/ingest_search.py` "
        "(embedding measured on a fixed random sample of chunks, cache bypassed).",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in res.items()]
    (args.out / "ingest_search.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
