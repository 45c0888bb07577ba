"""Filter pushdown vs post-filtering, on a real index: how many of the 10 best rows that pass a
filter does each way put among the candidates?

Post-filtering (the default) takes the dense top ``--k`` (50, ``retrieval.dense_candidates``) and
drops rows the filter rejects; pushdown (``index.filter_pushdown``) searches only rows that pass, so
it finds the exact filtered top 10 by construction (the contract tests check both backends do). For
each filter this prints the share of rows it keeps and the recall@10 of post-filtering, with the
vectors of ``--queries`` random chunks standing in for questions (exact inner products, numpy).

    python benchmarks/milvus_pushdown.py --index .cache/evals/<key>
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from assistant.index.rows import RowFilter, RowTable
from assistant.index.store import open_index


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--today", default="2026-11-29")
    args = p.parse_args()
    index = open_index(args.index)
    vectors = np.asarray(index.vectors, dtype=np.float32)
    rows = RowTable.of(index.chunks)
    departments = Counter(d for d in rows.fields["department"] if d)
    mid = sorted(departments.items(), key=lambda kv: abs(kv[1] - len(rows) * 0.05))[0][0]
    filters = {
        "in force today": RowFilter(in_force_on=args.today),
        "type faq": RowFilter(types=("faq",)),
        "type policy or law": RowFilter(types=("policy", "law")),
        f"department {mid}": RowFilter(department=mid),
    }
    queries = np.random.default_rng(0).choice(len(vectors), args.queries, replace=False)
    out = {}
    for label, where in filters.items():
        mask = rows.mask(where)
        recall, kept = [], []
        for q in queries:
            scores = vectors @ vectors[q]
            top = np.argsort(-scores)[: args.k]
            post = top[mask[top]]
            exact = np.flatnonzero(mask)[np.argsort(-scores[mask])[:10]]
            recall.append(len(set(post[:10].tolist()) & set(exact.tolist())) / max(1, len(exact)))
            kept.append(len(post))
        out[label] = {
            "rows_kept": round(float(mask.mean()), 3),
            "post_filter_recall_at_10": round(float(np.mean(recall)), 3),
            "post_filter_candidates_left": round(float(np.mean(kept)), 1),
            "pushdown_recall_at_10": 1.0,
        }
    print(
        json.dumps(
            {"chunks": len(rows), "queries": len(queries), "k": args.k, "filters": out},
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
