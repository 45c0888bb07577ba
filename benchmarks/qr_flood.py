"""Does a flood of ``/v1/qr`` requests stall the server? ``/healthz`` and chat latency while 8 clients flood.

    python benchmarks/qr_flood.py [--clients 8] [--duration 20] [--rate-limit 0,120]

1. Indexes the small test knowledge base (``tests/fixtures/knowledge_mini``) with the hash
   embedder into a temporary folder, then starts ``python serve.py`` on a free loopback port with
   one kiosk key, once per ``--rate-limit`` value (0: no limit, the worst case — every request
   builds a QR code; 120: the default limit at work).
2. ``--clients`` threads request QR codes for unique ~500-character URLs as fast as they can, for
   ``--duration`` seconds, while a chat client asks one question after another (both in a child
   process) and a prober in this process times ``GET /healthz`` every 20 ms.
3. Prints each run and writes ``docs/benchmarks/qr_flood.json`` and ``.md``: /healthz
   p50/p95/max, QR requests by status, chat answers and their p50.

Issue 15 asks for /healthz p95 under 50 ms with 8 flooding clients (it was 526 ms p50 when QR
codes were built on the event loop). ``flood()`` is also used by ``tests/test_api_server_hardening.py``
for a short, bounded run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks"
KEY = "kiosk-benchmark-key-0123456789"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _load(base: str, key: str, clients: int, stop_in: float, results: Any) -> None:
    """The load, in its own process: ``clients`` QR flooders and one chat client until time is up."""
    stop = time.monotonic() + stop_in
    statuses: Counter[str] = Counter()
    chat: list[float] = []
    chat_status: Counter[str] = Counter()
    lock = threading.Lock()
    headers = {"X-API-Key": key}

    def flooder(n: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            i = 0
            while time.monotonic() < stop:
                url = f"https://zwfw.example.gov.cn/guide/{n}/{i}/" + "x" * 450
                try:
                    status = str(client.get("/v1/qr", params={"url": url}).status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                with lock:
                    statuses[status] += 1
                i += 1

    def asker() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = client.post("/v1/chat", json={"question": "居住证怎么办理？"})
                chat.append((time.perf_counter() - t) * 1000)
                chat_status[str(r.status_code)] += 1

    threads = [threading.Thread(target=flooder, args=(n,), daemon=True) for n in range(clients)]
    threads.append(threading.Thread(target=asker, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=stop_in + 35)
    results.put((dict(statuses), chat, dict(chat_status)))


def flood(base: str, key: str, clients: int = 8, seconds: float = 10.0) -> dict[str, Any]:
    """Flood ``/v1/qr`` from ``clients`` threads for ``seconds``; time /healthz and chat meanwhile.

    The load runs in a child process, so the prober's timings are not skewed by the flooders'
    threads competing for this process's GIL.
    """
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    load = ctx.Process(target=_load, args=(base, key, clients, seconds, results), daemon=True)
    load.start()
    health: list[float] = []
    stop = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=30) as probe:
        time.sleep(min(1.0, seconds / 5))  # let the flood build up
        while time.monotonic() < stop:
            t = time.perf_counter()
            probe.get("/healthz")
            health.append((time.perf_counter() - t) * 1000)
            time.sleep(0.02)
    statuses, chat, chat_status = results.get(timeout=seconds + 60)
    load.join(timeout=10)
    return {
        "clients": clients,
        "seconds": seconds,
        "healthz_ms": {
            "n": len(health),
            "p50": round(statistics.median(health), 2) if health else None,
            "p95": round(_percentile(health, 0.95), 2),
            "max": round(max(health), 2) if health else None,
        },
        "qr_requests": statuses,
        "chat": {
            "answers": chat_status,
            "p50_ms": round(statistics.median(chat), 1) if chat else None,
        },
    }


def _serve(tmp: Path, rate_limit: int) -> Any:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from web_fixtures import serve_py

    from assistant.config import Settings
    from assistant.ingest.build import ingest

    settings = Settings(
        knowledge_dir=ROOT / "tests" / "fixtures" / "knowledge_mini",
        index_dir=tmp / "index",
        cache_dir=tmp / "cache",
        embedder={"name": "hash", "dim": 256},  # type: ignore[arg-type]
    )
    ingest(settings)
    env = {
        "ASSISTANT_KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CACHE_DIR": str(settings.cache_dir),
        "ASSISTANT_EMBEDDER__NAME": "hash",
        "ASSISTANT_EMBEDDER__DIM": "256",
        "ASSISTANT_API__SESSION_DB": str(tmp / "sessions.sqlite3"),
        "ASSISTANT_API__KIOSK_KEYS": json.dumps([KEY]),
        "ASSISTANT_API__RATE_LIMIT_PER_MINUTE": str(rate_limit),
    }
    return serve_py(env, startup_timeout_s=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--rate-limit", default="0,120", help="comma-separated: one run per value")
    args = parser.parse_args()
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    runs = []
    for limit in (int(v) for v in args.rate_limit.split(",")):
        with tempfile.TemporaryDirectory() as tmp, _serve(Path(tmp), limit) as base:
            result = flood(base, KEY, args.clients, args.duration)
        result["rate_limit_per_minute"] = limit
        print(json.dumps(result, indent=2))
        runs.append(result)
    OUT.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine, "runs": runs}
    (OUT / "qr_flood.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    md = [
        "# /v1/qr flood: is the event loop still free?",
        "",
        f"`python benchmarks/qr_flood.py --clients {args.clients} --duration {args.duration:g}`"
        f" on {machine} (a shared machine; the clients run on the same cores as the server).",
        "",
        "| rate limit | /healthz p50 | /healthz p95 | /healthz max | QR requests by status | chat answers | chat p50 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        h = r["healthz_ms"]
        limit = f"{r['rate_limit_per_minute']}/min" if r["rate_limit_per_minute"] else "off (worst case)"
        md.append(
            f"| {limit} | {h['p50']} ms | {h['p95']} ms | {h['max']} ms | {r['qr_requests']} |"
            f" {r['chat']['answers']} | {r['chat']['p50_ms']} ms |"
        )
    md += [
        "",
        "Before issue 15 the QR code was built inside `async def`; the same 10 s run (rate limit off)",
        "gave /healthz p50 846 ms, p95 1,717 ms and 4 chat answers. Now the code is built in a worker",
        "thread behind a one-slot limiter, cached, capped at 512 characters, and the route needs a key",
        "and counts against its rate limit (with the limit on, most flood requests are cheap 429s,",
        "~165 a second: at that request rate the per-request cost of routing alone, on a 2-core",
        "machine other jobs share, is what /healthz waits for — a proxy's connection limits shed that).",
        "",
    ]
    (OUT / "qr_flood.md").write_text("\n".join(md), encoding="utf-8")


if __name__ == "__main__":
    main()
