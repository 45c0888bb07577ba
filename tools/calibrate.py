"""Calibration figures for the hand-off classifier and the grounding threshold, from the dev sets.

``python -m tools.calibrate --dev ../shared/data/dev`` prints the figures recorded in
docs/answering.md. Pure Python over the dev files; no index or model needed.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from assistant.answering.classify import THRESHOLD, message_score
from assistant.answering.grounding import support_score
from assistant.query import Query
from assistant.text import split_sentences, strip_punct


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def handoff_figures(dev: Path, thresholds: tuple[float, ...] = (1.5, 2.0, 2.5, 3.0)) -> dict[str, Any]:
    posts = _read(dev / "citizen_messages_dev.jsonl")
    questions = _read(dev / "beijing_qa_dev.jsonl")
    ps = [message_score(Query.parse(r["question"]))[0] for r in posts]
    qs = [message_score(Query.parse(r["question"]))[0] for r in questions]
    sweep = {
        t: {
            "handoff_recall": round(sum(s >= t for s in ps) / len(ps), 3),
            "false_handoff_rate": round(sum(s >= t for s in qs) / len(qs), 4),
        }
        for t in thresholds
    }
    by_dept: dict[str, list[bool]] = defaultdict(list)
    for r, s in zip(questions, qs, strict=True):
        by_dept[r["department"]].append(s >= THRESHOLD)
    # Recall on 5 random folds of posts: how much it varies between subsets of the same size as a hold-out.
    idx = list(range(len(posts)))
    random.Random(0).shuffle(idx)
    folds = [idx[i::5] for i in range(5)]
    fold_recall = [round(sum(ps[i] >= THRESHOLD for i in f) / len(f), 3) for f in folds]
    return {
        "threshold": THRESHOLD,
        "sweep": sweep,
        "false_handoff_by_department": {
            d: {"n": len(v), "rate": round(sum(v) / len(v), 3)}
            for d, v in sorted(by_dept.items(), key=lambda x: -len(x[1]))
        },
        "recall_by_fold": fold_recall,
    }


def grounding_figures(dev: Path, n: int = 2000) -> dict[str, Any]:
    """Support scores of (a) a source sentence with 25% of its characters dropped, against its passage,
    and (b) a sentence from another passage of the same department, against this passage."""
    passages = _read(dev / "beijing_passages_dev.jsonl")
    by_dept: dict[str, list[str]] = defaultdict(list)
    for p in passages:
        by_dept[p["department"]].append(p["text"])
    rng = random.Random(0)
    pos: list[float] = []
    neg: list[float] = []
    depts = [d for d, v in by_dept.items() if len(v) > 5]
    while len(pos) < n:
        d = rng.choice(depts)
        a, b = rng.sample(by_dept[d], 2)
        sa = [s for s in split_sentences(a) if len(strip_punct(s)) >= 8]
        sb = [s for s in split_sentences(b) if len(strip_punct(s)) >= 8]
        if not sa or not sb:
            continue
        s = rng.choice(sa)
        edited = "".join(ch for ch in s if rng.random() > 0.25)
        pos.append(support_score(edited, a))
        neg.append(support_score(rng.choice(sb), a))
    pos.sort()
    neg.sort()

    def q(xs: list[float], p: float) -> float:
        return round(xs[min(len(xs) - 1, int(p * len(xs)))], 3)

    return {
        "edited_source_sentence": {"p01": q(pos, 0.01), "p05": q(pos, 0.05), "median": q(pos, 0.5)},
        "other_passage_sentence": {"median": q(neg, 0.5), "p95": q(neg, 0.95), "p99": q(neg, 0.99)},
        "threshold_0.5": {
            "kept_edited": round(sum(x >= 0.5 for x in pos) / len(pos), 3),
            "kept_foreign": round(sum(x >= 0.5 for x in neg) / len(neg), 3),
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("--dev", type=Path, default=Path("../shared/data/dev"))
    ap.add_argument("--pairs", type=int, default=2000, help="passage pairs for the grounding figures")
    args = ap.parse_args(argv)
    out = {"handoff": handoff_figures(args.dev), "grounding": grounding_figures(args.dev, args.pairs)}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
