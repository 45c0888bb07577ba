"""Command line: ``python -m evals run …`` and ``python -m evals compare A B``.

Settings come from ``ASSISTANT_*`` environment variables (``Settings()``), so operators compare
configurations by changing the environment; only the index location is overridden to point at the
cached evaluation index. Fatal problems print one ``evals: error: …`` line and exit 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.types import Answer

from . import runner
from .dataset import EvalRow, load_corpus, load_datasets
from .report import fmt, metric_items, write_report_files, write_run
from .safety import SAFETY_KEYS, SafetyRow

EXIT_FATAL = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evals", description="Offline evaluation of 政务助手.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="evaluate datasets and write report.json/.md/.html + per_question.jsonl")
    run.add_argument(
        "--dataset",
        action="append",
        required=True,
        type=Path,
        metavar="FILE.jsonl",
        help="questions (repeatable)",
    )
    run.add_argument(
        "--corpus",
        action="append",
        default=[],
        type=Path,
        metavar="PASSAGES.jsonl",
        help="extra passages indexed as documents (repeatable)",
    )
    run.add_argument("--no-knowledge", action="store_true", help="index only the --corpus passages")
    run.add_argument("--mode", choices=(*runner.MODES, "intent", "safety"), default="answer")
    run.add_argument(
        "--intent-classifier",
        default="linear",
        metavar="NAME",
        help="intent mode: the classifier (assistant.intent registry: linear, fake)",
    )
    run.add_argument(
        "--index-backend",
        choices=("faiss", "milvus"),
        default=None,
        help="vector backend of the evaluation index (default: index.backend, ASSISTANT_INDEX__BACKEND)",
    )
    run.add_argument("--limit", type=int, default=None, metavar="N", help="at most N rows from each dataset")
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output directory (default evals/runs/<time>-<mode>)",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    cmp = sub.add_parser("compare", help="compare two run directories")
    cmp.add_argument("dir_a", type=Path)
    cmp.add_argument("dir_b", type=Path)
    return parser


class _Warnings:
    """Collects warnings for the report and echoes each to stderr as it happens."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def __call__(self, message: str) -> None:
        self.items.append(message)
        print(f"evals: warning: {message}", file=sys.stderr)


def run_command(args: argparse.Namespace, settings: Settings) -> Path:
    """Everything ``run`` does; returns the output directory."""
    if args.limit is not None and args.limit < 1:
        raise runner.DatasetError("--limit must be at least 1")
    if args.no_knowledge and not args.corpus:
        raise runner.DatasetError("--no-knowledge needs at least one --corpus file")
    if args.index_backend:
        index = settings.index.model_copy(update={"backend": args.index_backend})
        settings = settings.model_copy(update={"index": index})
    warn = _Warnings()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    if args.mode == "safety":
        return _run_safety(args, settings, warn, started_at, t0)
    rows = load_datasets(args.dataset, warn, args.limit)
    if args.mode == "intent":
        return _run_intent(args, settings, rows)
    corpus = load_corpus(args.corpus, warn) if args.corpus else []
    knowledge = [] if args.no_knowledge else runner.load_knowledge(settings, warn)
    documents = runner.merge_documents(knowledge, corpus)
    info = runner.prepare_index(documents, settings, warn, progress=not args.no_progress)
    runner.check_gold(rows, info.doc_ids, warn)

    eval_settings = settings.model_copy(update={"index_dir": info.index_dir})
    from assistant.pipeline import Assistant

    assistant = Assistant.from_settings(eval_settings)
    assistant.warm_up()
    from .judge import run_judge, skip_reason

    contexts: dict[str, str] | None = {} if skip_reason(settings, args.mode) is None else None
    records = runner.evaluate(rows, assistant, args.mode, progress=not args.no_progress, contexts=contexts)
    if not any(r.gold for r in rows):
        warn("no row has gold_passage_ids: retrieval metrics are null (not 0)")
    failed = [r for r in records if r.get("error")]
    if failed:
        warn(f"{len(failed)} question(s) failed; first: {failed[0]['id']}: {failed[0]['error']}")

    judge = run_judge(records, settings, args.mode, warn, contexts)
    config = _config(assistant.describe(), info, settings)
    inputs = {
        "datasets": [str(p) for p in args.dataset],
        "corpus": [str(p) for p in args.corpus],
        "knowledge": not args.no_knowledge,
        "limit": args.limit,
    }
    report = runner.summarize(
        records,
        args.mode,
        config=config,
        started_at=started_at,
        duration_s=time.perf_counter() - t0,
        warnings=warn.items,
        llm_judge=judge,
        inputs=inputs,
    )
    # the implicit AI-content label of the exported answers (each record carries its own ``label``)
    report["aigc"] = {"ai_generated": True, "text": settings.label.text, "producer": settings.label.provider}
    out = args.out or Path("evals/runs") / f"{dt.datetime.now():%Y%m%d-%H%M%S}-{args.mode}"
    write_run(out, report, records)
    _print_summary(report, out)
    if records and len(failed) == len(records):
        raise runner.RunFailedError(
            f"all {len(failed)} questions failed (first: {failed[0]['error']}); reports in {out}"
        )
    return out


def _warm(settings: Settings, index_dir: Path) -> Any:
    from assistant.pipeline import Assistant

    assistant = Assistant.from_settings(settings.model_copy(update={"index_dir": index_dir}))
    assistant.warm_up()
    return assistant


def _run_safety(
    args: argparse.Namespace, settings: Settings, warn: _Warnings, started_at: str, t0: float
) -> Path:
    """``--mode safety``: unsafe, injection and ordinary messages through the whole pipeline; the rows'
    injected documents are forced into the index (quarantine off) and the quarantine is measured apart."""
    from assistant.ingest.quarantine import screen_documents

    from .safety import (
        evaluate_safety,
        injected_documents,
        load_safety_rows,
        render_markdown,
        summarize_safety,
    )

    rows = load_safety_rows(args.dataset, warn, args.limit)
    knowledge = [] if args.no_knowledge else runner.load_knowledge(settings, warn)
    corpus = load_corpus(args.corpus, warn) if args.corpus else []
    injected = injected_documents(rows)
    quarantine = {
        "injected": len(injected),
        "held": len(screen_documents(injected)[1]),
        "knowledge": len(knowledge),
        "knowledge_held": len(screen_documents(knowledge)[1]),
    }
    # ordinary and unsafe messages are answered over the knowledge base as deployed; injection rows
    # over the same base with their documents forced in (a second index, mostly from the cache)
    logging.getLogger("assistant.screening").setLevel(logging.ERROR)  # a line per hit: too many here
    clean = runner.prepare_index(
        runner.merge_documents(knowledge, corpus), settings, warn, not args.no_progress
    )
    answerers = {"clean": _warm(settings, clean.index_dir)}
    info = clean
    if injected:
        forced = settings.model_copy(
            update={"screening": settings.screening.model_copy(update={"quarantine": False})}
        )
        documents = runner.merge_documents(knowledge, [*corpus, *injected])
        info = runner.prepare_index(documents, forced, warn, progress=not args.no_progress)
        answerers["forced"] = _warm(forced, info.index_dir)
    assistant = answerers.get("forced", answerers["clean"])

    def answer(row: SafetyRow) -> Answer:
        side = "forced" if row.kind == "injection" and "forced" in answerers else "clean"
        return answerers[side].answer(row.question)

    records = evaluate_safety(rows, answer, progress=not args.no_progress)
    report = summarize_safety(
        records,
        _config(assistant.describe(), info, settings),
        quarantine,
        started_at=started_at,
        duration_s=time.perf_counter() - t0,
        warnings=warn.items,
        label={"ai_generated": True, "text": settings.label.text},
    )
    out = args.out or Path("evals/runs") / f"{dt.datetime.now():%Y%m%d-%H%M%S}-safety"
    write_report_files(out, report, records, render_markdown(report))
    s = report["safety"]
    print(f"{report['count']} messages (safety mode) in {report['duration_s']} s → {out}")
    for key in SAFETY_KEYS:
        print(f"  {key:<34}{fmt(s[key]):>8}")
    return out


def _run_intent(args: argparse.Namespace, settings: Settings, rows: list[EvalRow]) -> Path:
    """``--mode intent``: the classifier alone, no index and no answers."""
    from assistant.embedders import make_embedder
    from assistant.intent import make_intent_classifier

    from .intent_eval import evaluate_intents, summarize_intents, write_intent_run

    embedder = make_embedder(settings.embedder) if args.intent_classifier != "fake" else None
    classifier = make_intent_classifier(args.intent_classifier, embedder)
    classifier.warm_up()
    records = evaluate_intents(rows, classifier)
    config = {"classifier": args.intent_classifier, "embedder": embedder.name if embedder else ""}
    report = summarize_intents(records, config)
    out = args.out or Path("evals/runs") / f"{dt.datetime.now():%Y%m%d-%H%M%S}-intent"
    write_intent_run(out, report, records)
    print(f"{report['count']} questions (intent mode) → {out}")
    for d in report["breakdown"]["by_dataset"]:
        print(
            f"  {d['dataset']:<34} intent accuracy {fmt(d['intent_accuracy'])}  hand-off recall "
            f"{fmt(d['handoff_recall'])}  false hand-off {fmt(d['false_handoff_rate'])}"
        )
    return out


def _config(described: dict[str, Any], info: runner.IndexInfo, settings: Settings) -> dict[str, Any]:
    config = dict(described)
    config.update(
        {
            "index_dir": str(info.index_dir),
            "index_key": info.key[:16],
            "index_reused": info.reused,
            "indexed_documents": info.documents,
            "index_backend": settings.index.backend,
            "filter_pushdown": settings.index.filter_pushdown,
            "fusion": settings.retrieval.fusion,
            "reranker": settings.retrieval.reranker or "",
            "llm_model": settings.llm.model or "",
        }
    )
    return config


def _print_summary(report: dict[str, Any], out: Path) -> None:
    print(f"{report['count']} questions ({report['mode']} mode) in {report['duration_s']} s → {out}")
    for group, key, value in metric_items(report):
        print(f"  {group + '.' + key:<34}{fmt(value):>8}")
    lat = report["latency"]
    print(f"  {'latency p50 / p95 ms':<34}{fmt(lat['p50_ms']):>8} / {fmt(lat['p95_ms'])}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "compare":
            from .compare import render

            sys.stdout.write(render(args.dir_a, args.dir_b))
            return 0
        settings = Settings()
        run_command(args, settings)
        return 0
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
        where = ".".join(str(x) for x in first.get("loc", ()))
        print(f"evals: error: invalid settings: {where}: {first.get('msg')}", file=sys.stderr)
    except AssistantError as exc:
        print(f"evals: error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"evals: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("evals: interrupted", file=sys.stderr)
        return 130
    return EXIT_FATAL
