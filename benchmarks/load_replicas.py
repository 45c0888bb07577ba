"""Load across replicas: one ``serve.py`` process against two replicas sharing PostgreSQL and Redis.

    python benchmarks/load_replicas.py [--duration 30] [--clients 32] [--embedder NAME] [--index-dir DIR]

Starts what it needs in temp dirs, like the tests do: a PostgreSQL server (``tests/_postgres.py``) and
a Redis server (``tests/_redis.py``). Then three set-ups, each loaded by ``--clients`` concurrent
clients for ``--duration`` seconds:

1. ``single``: one process with the single-box defaults (SQLite state file, in-process limits);
2. ``shared``: one process on PostgreSQL + Redis (what shared state costs on its own);
3. ``replicas``: two processes on different ports sharing one PostgreSQL database and one Redis.

Each client holds a conversation: a question, then a follow-up on the same ``session_id``, then a new
session; in the two-replica set-up consecutive turns go to alternate replicas (a load balancer without
sticky sessions), so every follow-up is served by the replica that did not start the session. Rate
limits stay on (at 1,000,000 per minute, never reached) so every request checks the shared Redis
window. Errors are any non-200 reply or transport error; the run fails unless every set-up has 0.

Writes ``docs/benchmarks/replicas.json`` and ``.md``. The index must exist (``python -m assistant
ingest``); settings come from ``ASSISTANT_*`` env vars, with ``--embedder`` / ``--index-dir`` shortcuts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]

from _postgres import PostgresServer, find_binaries  # noqa: E402
from _redis import RedisServer, redis_server_binary  # noqa: E402
from load_api import free_port, start_server, summarise, wait_ready  # noqa: E402

from assistant.config import Settings  # noqa: E402

# (question, follow-up): the follow-up only makes sense with the first turn's context
CONVERSATIONS = [
    ("办理普通护照需要什么材料？", "要多长时间？"),
    ("住房公积金租房可以提取吗？", "需要哪些材料"),
    ("社保卡丢了怎么补办？", "在哪里办"),
    ("居住证怎么办理？", "需要什么条件"),
    ("新生儿落户需要什么材料", "去哪里办理"),
    ("营业执照怎么申请", "要多久"),
    ("医保异地就医怎么备案", "需要什么材料"),
    ("驾驶证到期换证需要什么", "在哪里办"),
    ("失业保险金怎么领取", "需要什么条件"),
    ("结婚登记需要带什么", "在哪里办"),
    ("残疾人证怎么办理", "需要什么材料"),
    ("食品经营许可证办理流程", "要多久"),
]
RATE_LIMIT = "1000000"


def cpu_name() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


async def converse(bases: list[str], clients: int, duration: float) -> dict[str, Any]:
    """``clients`` conversations in a closed loop for ``duration`` s; turn n of a client goes to bases[n % len]."""
    latencies: list[float] = []
    errors: list[str] = []
    follow_ups = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    http = [httpx.AsyncClient(base_url=b, limits=limits, timeout=30) for b in bases]
    try:
        for c in http:  # warm every replica (first answers load lazy parts)
            for q, _ in CONVERSATIONS[:2]:
                await c.post("/v1/chat", json={"question": q})
        stop_at = time.perf_counter() + duration

        async def client(n: int) -> None:
            nonlocal follow_ups
            turn = n
            while time.perf_counter() < stop_at:
                question, follow_up = CONVERSATIONS[turn % len(CONVERSATIONS)]
                session: str | None = None
                for text in (question, follow_up):
                    body: dict[str, Any] = {"question": text, "channel": "api"}
                    if session:
                        body["session_id"] = session
                    t = time.perf_counter()
                    try:
                        r = await http[turn % len(http)].post("/v1/chat", json=body)
                    except httpx.HTTPError as exc:
                        errors.append(type(exc).__name__)
                        break
                    finally:
                        turn += 1
                    if r.status_code != 200:
                        errors.append(f"HTTP {r.status_code}")
                        break
                    latencies.append(time.perf_counter() - t)
                    follow_ups += session is not None
                    session = r.json()["session_id"]

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    finally:
        for c in http:
            await c.aclose()
    result = summarise(latencies, len(errors), elapsed)
    result.update(
        clients=clients, servers=len(bases), follow_ups=follow_ups, error_kinds=sorted(set(errors))[:10]
    )
    return result


@contextlib.contextmanager
def servers(envs: list[dict[str, str]], tmp: Path, workers: int) -> Iterator[list[str]]:
    """``serve.py`` processes (one per env) on free loopback ports; their base URLs once all are ready."""
    procs: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for i, env in enumerate(envs):
            port = free_port()
            procs.append(start_server(env, port, workers, tmp / f"server{i}-{port}.log"))
            bases.append(f"http://127.0.0.1:{port}")
        for base, proc in zip(bases, procs, strict=True):
            wait_ready(base, proc)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def write_report(result: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    labels = {
        "single": "one process, single-box defaults (SQLite, in-process limits)",
        "shared": "one process on PostgreSQL + Redis",
        "replicas": "two replicas sharing PostgreSQL + Redis",
    }
    rows = [
        "| set-up | servers | requests | errors | throughput (req/s) | p50 ms | p95 ms | p99 ms | follow-ups | load avg after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in result["runs"].items():
        rows.append(
            f"| {labels[name]} | {r['servers']} | {r['requests']} | {r['errors']} | {r['throughput_rps']:.1f} "
            f"| {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['follow_ups']} "
            f"| {r['load_average_after']} |"
        )
    ok = all(r["errors"] == 0 for r in result["runs"].values())
    text = f"""# Load across replicas

Generated by `python benchmarks/load_replicas.py` on {result["date"]}: {result["cpu"]}, {result["cpus"]}
CPUs, Python {result["python"]}. Every server and the load generator share this one machine (load
average {result["load_average_before"]} before the first set-up: other work was running beside it).

{result["clients"]} clients for {result["duration_s"]:.0f} s per set-up, each holding conversations (a
question, a follow-up on the same `session_id`, then a new session; {len(CONVERSATIONS)} topics in
rotation). With two replicas consecutive turns go to alternate replicas, so every follow-up is answered
by the replica that did not start the session. Embedder `{result["embedder"]}`, answerer
`{result["answerer"]}`, {result["index_size"]} chunks; `serve.py --workers {result["workers"]}` per
process; rate limits on (never reached), so every request checks the limit store. PostgreSQL
{result["postgres"]} and Redis {result["redis"]} run from temp dirs on loopback.

{chr(10).join(rows)}

0 errors in every set-up: **{"yes" if ok else "NO"}**.

{result.get("notes", "")}
"""
    out.with_suffix(".md").write_text(text.rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", help="embedder name (default: settings)")
    parser.add_argument("--index-dir", help="index folder (default: settings)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per set-up")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="serve.py --workers of every process")
    parser.add_argument("--setups", default="single,shared,replicas")
    parser.add_argument("--notes", default="", help="a paragraph appended to the report")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "replicas"))
    args = parser.parse_args(argv)

    base_env: dict[str, str] = {"ASSISTANT_API__RATE_LIMIT_PER_MINUTE": RATE_LIMIT}
    if args.embedder:
        base_env["ASSISTANT_EMBEDDER__NAME"] = args.embedder
    if args.index_dir:
        base_env["ASSISTANT_INDEX_DIR"] = str(Path(args.index_dir).resolve())
    os.environ.update({k: v for k, v in base_env.items() if k != "ASSISTANT_API__RATE_LIMIT_PER_MINUTE"})
    settings = Settings()
    if not settings.index_dir.is_dir() or not any(settings.index_dir.iterdir()):
        print(
            f"no index at {settings.index_dir}; build it first: python -m assistant ingest", file=sys.stderr
        )
        return 2
    redis_bin, pg_bin = redis_server_binary(), find_binaries()
    if redis_bin is None or pg_bin is None:
        print("needs Debian's redis-server and postgresql (make redis postgres)", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="load_replicas_"))
    redis = RedisServer(redis_bin, tmp)
    postgres = PostgresServer(pg_bin).start()
    runs: dict[str, Any] = {}
    info: dict[str, Any] = {}
    load_before = round(os.getloadavg()[0], 1)
    try:
        for setup in [s.strip() for s in args.setups.split(",") if s.strip()]:
            if setup == "single":
                envs = [{**base_env, "ASSISTANT_API__SESSION_DB": str(tmp / "single.sqlite3")}]
            else:
                shared = {
                    **base_env,
                    "ASSISTANT_DATABASE_URL": postgres.create_database(setup),
                    "ASSISTANT_REDIS_URL": redis.url,
                }
                envs = [shared] if setup == "shared" else [shared, dict(shared)]
            print(
                f"{setup}: {len(envs)} server(s), {args.clients} clients for {args.duration:.0f} s …",
                flush=True,
            )
            with servers(envs, tmp, args.workers) as bases:
                info = dict(httpx.get(bases[0] + "/readyz", timeout=10).json())
                runs[setup] = asyncio.run(converse(bases, args.clients, args.duration))
            r = runs[setup]
            r["load_average_after"] = round(os.getloadavg()[0], 1)
            print(
                f"  {r['throughput_rps']} req/s, p50 {r['p50_ms']} p95 {r['p95_ms']} ms, errors {r['errors']}"
                f" {r['error_kinds']}",
                flush=True,
            )
            redis.flush()
    finally:
        postgres.stop()
        redis.stop()

    versions = {
        "postgres": subprocess.run(
            [str(pg_bin / "postgres"), "--version"], capture_output=True, text=True
        ).stdout,
        "redis": subprocess.run([redis_bin, "--version"], capture_output=True, text=True).stdout,
    }
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": (re.findall(r"\d+\.\d+", versions["postgres"]) or ["?"])[0],
        "redis": next((w.split("=")[1] for w in versions["redis"].split() if w.startswith("v=")), "?"),
        "embedder": settings.embedder.name,
        "answerer": settings.answer.answerer,
        "index_size": info.get("index_size", "?"),
        "workers": args.workers,
        "clients": args.clients,
        "duration_s": args.duration,
        "load_average_before": load_before,
        "runs": runs,
        "notes": args.notes,
    }
    write_report(result, Path(args.out))
    print(f"wrote {Path(args.out).with_suffix('.md')}")
    return 0 if all(r["errors"] == 0 for r in runs.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
