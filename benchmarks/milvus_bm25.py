"""Keyword side only: our BM25 (``assistant/index/keyword.py``) vs Milvus' built-in BM25 full-text
search (Milvus Lite, jieba analyzer), on an evaluation index and its dev questions.

Both sides index the same text per chunk (``ingest.build.keyword_text``) and return their top 50
rows; rows become documents in rank order (first occurrence) and are scored as the evals do: hit@5
and MRR@10 against ``gold_passage_ids``. Milvus variants: jieba's default mode, and jieba search
mode with the index's own words and our stop words (the closest to ours short of character bigrams).

    python -m evals run --dataset evals/datasets/beijing_qa_dev.jsonl \\
        --corpus evals/datasets/beijing_passages_dev.jsonl --mode retrieval   # builds the index
    python benchmarks/milvus_bm25.py --index .cache/evals/<key> --dataset evals/datasets/beijing_qa_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.index.store import open_index
from assistant.ingest.build import keyword_text
from assistant.synonyms import alias_table, expand_query, load_synonyms
from assistant.text import STOPWORDS, load_tokenizer, normalize_query, tokenize
from evals.metrics import hit_at_k, reciprocal_rank


def documents(rows: Iterable[int], doc_of: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        seen.setdefault(doc_of[int(r)], None)
    return list(seen)


def milvus_collection(client: Any, name: str, texts: Sequence[str], analyzer: dict[str, Any]) -> None:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field(
        "text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=analyzer
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )
    params = MilvusClient.prepare_index_params()
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection(name, schema=schema, index_params=params)
    for start in range(0, len(texts), 1000):
        batch = [{"row": i, "text": texts[i][:20000]} for i in range(start, min(start + 1000, len(texts)))]
        client.insert(name, batch)
    client.flush(name)


def score(ranked: list[list[str]], gold: list[list[str]], lat: list[float]) -> dict[str, float]:
    return {
        "hit@5": round(float(np.mean([hit_at_k(r, g, 5) for r, g in zip(ranked, gold, strict=True)])), 3),
        "mrr@10": round(
            float(np.mean([reciprocal_rank(r, g, 10) for r, g in zip(ranked, gold, strict=True)])), 3
        ),
        "p95_ms": round(float(np.percentile(lat, 95)), 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, required=True, help="an index dir (e.g. the evals cache)")
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args()
    index = open_index(args.index)
    userdict = args.index / "userdict.txt"
    words = frozenset(w for w in userdict.read_text(encoding="utf-8").split("\n") if w.strip())
    load_tokenizer(words)
    synonyms = load_synonyms(alias_table(index.chunks))
    doc_of = [c.doc_id for c in index.chunks]
    rows = [
        json.loads(line) for line in args.dataset.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    rows = [r for r in rows if r.get("gold_passage_ids")][: args.limit]
    gold = [r["gold_passage_ids"] for r in rows]
    queries = [normalize_query(r["question"]) for r in rows]
    expanded = [expand_query(q, synonyms) for q in queries]
    results: dict[str, dict[str, float]] = {}

    ranked, lat = [], []
    for q in expanded:
        t = time.perf_counter()
        ids, _ = index.keyword.search(tokenize(q, words=words), 50)
        lat.append((time.perf_counter() - t) * 1000)
        ranked.append(documents(ids, doc_of))
    results["ours: BM25 CSR, jieba search mode − stop words + CJK bigrams"] = score(ranked, gold, lat)

    from pymilvus import MilvusClient

    texts = [keyword_text(c) for c in index.chunks]
    variants: dict[str, tuple[dict[str, Any], list[str]]] = {
        "Milvus BM25, jieba (default mode)": ({"tokenizer": "jieba"}, queries),
        "Milvus BM25, jieba search mode + our words + stop words": (
            {
                "tokenizer": {"type": "jieba", "mode": "search", "dict": sorted(words)},
                "filter": [{"type": "stop", "stop_words": sorted(STOPWORDS)}],
            },
            expanded,
        ),
    }
    with tempfile.TemporaryDirectory() as tmp:
        client = MilvusClient(str(Path(tmp) / "bm25.db"))
        for i, (label, (analyzer, qs)) in enumerate(variants.items()):
            t = time.perf_counter()
            milvus_collection(client, f"bm25_{i}", texts, analyzer)
            build_s = time.perf_counter() - t
            ranked, lat = [], []
            for q in qs:
                t = time.perf_counter()
                res = client.search(
                    f"bm25_{i}",
                    data=[q],
                    anns_field="sparse",
                    limit=50,
                    search_params={"metric_type": "BM25"},
                )
                lat.append((time.perf_counter() - t) * 1000)
                ranked.append(documents((h["row"] for h in res[0]), doc_of))
            results[label] = score(ranked, gold, lat) | {"build_s": round(build_s, 1)}
    print(
        json.dumps(
            {"chunks": len(index.chunks), "questions": len(rows), "results": results},
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
