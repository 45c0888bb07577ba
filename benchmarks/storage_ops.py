"""Latency of the state database's hot-path operations, SQLite file vs a local PostgreSQL server.

    python benchmarks/storage_ops.py [--n 400] [--threads 8] [--postgres-url URL]

Per chat turn the API does ``history`` (last 5 exchanges), ``create`` (new sessions only) and
``append``; ratings add ``add_feedback``; staff actions ``audit.record``. Each is timed ``--n`` times
in one thread (p50/p95 ms), then ``--threads`` threads append concurrently (exchanges per second).
Without ``--postgres-url`` a throw-away server is started with Debian's binaries (tests/_postgres.py)
when they are installed. Writes ``docs/benchmarks/storage_ops.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from assistant.sessions import Exchange, history  # noqa: E402
from assistant.storage import Database, sqlite_url  # noqa: E402

ANSWER = "办理普通护照需携带本人居民身份证，到出入境管理窗口填写申请表并现场采集照片和指纹[1]。" * 3
HITS = [{"doc_id": f"doc-{i}", "title": "普通护照办理指南", "score": 0.8 - i / 100} for i in range(10)]


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered) * 1000, 3),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
    }


def _timed(fn: Callable[[int], Any], n: int) -> dict[str, float]:
    samples = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t)
    return _ms(samples)


def _exchange(rid: str, sid: str) -> Exchange:
    return Exchange(
        rid, sid, "办理普通护照需要什么材料？", ANSWER, "extractive", citations=[{"n": 1, "doc_id": "doc-0"}],
        channel="widget", confidence=0.8, department="公安局出入境管理局", hits=HITS, meta={"intent": "question"},
    )  # fmt: skip


def bench(url: str, n: int, threads: int) -> dict[str, Any]:
    started = time.perf_counter()
    db = Database.open(url)
    upgrade_s = time.perf_counter() - started
    run = uuid.uuid4().hex[:6]
    sids = [f"{run}-s{i}" for i in range(n)]
    out: dict[str, Any] = {"open_and_upgrade_ms": round(upgrade_s * 1000, 1)}
    out["create"] = _timed(lambda i: db.sessions.create(sids[i], "key-1"), n)
    out["append"] = _timed(lambda i: db.sessions.append(_exchange(f"{run}-r{i}", sids[i % 20])), n)
    out["history_5"] = _timed(lambda i: history(db.sessions, sids[i % 20], 5), n)
    out["add_feedback"] = _timed(lambda i: db.sessions.add_feedback(f"{run}-r{i}", "up", "很好"), n)
    out["audit_record"] = _timed(lambda i: db.audit.record("alice", "editor", "bench", str(i)), n)

    def worker(t: int) -> None:
        for i in range(n // threads):
            db.sessions.append(_exchange(f"{run}-t{t}-{i}", f"{run}-ts{t}"))

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    t0 = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    out[f"append_{threads}_threads_per_s"] = round((n // threads) * threads / (time.perf_counter() - t0), 1)
    db.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres-url", default="")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "storage_ops")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = bench(sqlite_url(Path(tmp) / "state.sqlite3"), args.n, args.threads)
    server = None
    url = args.postgres_url
    if not url:
        from _postgres import PostgresServer, find_binaries

        bindir = find_binaries()
        if bindir is not None:
            server = PostgresServer(bindir).start()
            url = server.create_database("bench")
    if url:
        try:
            results["postgresql"] = bench(url, args.n, args.threads)
        finally:
            if server is not None:
                server.stop()
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if "Model name" in line), "")
    load = os.getloadavg()[0]
    meta = {"cpu": model or platform.processor(), "cores": os.cpu_count(), "load_avg_1m": round(load, 1)}
    meta |= {"n": args.n, "threads": args.threads}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(meta | results, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# State database: hot-path operations",
        "",
        f"`python benchmarks/storage_ops.py` — {meta['cpu']} ({meta['cores']} cores, 1-minute load average",
        f"{meta['load_avg_1m']} while it ran: p95 is mostly other processes' noise), {args.n} operations each, one thread;",
        f"then {args.threads} threads appending together. SQLite: a WAL file on local disk; PostgreSQL: a",
        "local throw-away server (fsync off, as in the tests), so its figures show the client-side cost",
        "plus a loopback round trip, not a durable production server's commit latency.",
        "",
        "| operation | " + " | ".join(results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for op in ("create", "append", "history_5", "add_feedback", "audit_record"):
        cells = [f"{r[op]['p50']} / {r[op]['p95']} ms" for r in results.values()]
        lines.append(f"| {op} (p50 / p95) | " + " | ".join(cells) + " |")
    key = f"append_{args.threads}_threads_per_s"
    lines.append(
        f"| append, {args.threads} threads | " + " | ".join(f"{r[key]} /s" for r in results.values()) + " |"
    )
    lines.append(
        "| open + schema check | "
        + " | ".join(f"{r['open_and_upgrade_ms']} ms" for r in results.values())
        + " |"
    )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
