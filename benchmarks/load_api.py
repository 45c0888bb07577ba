"""Load test of the chat API on loopback, compared with the bare in-process ``Assistant.answer()``.

    python benchmarks/load_api.py [--embedder NAME] [--duration 30] [--concurrency 1,8,32]

1. Runs ``Assistant.answer()`` in a plain loop in this process (the ceiling the API is held to).
2. Starts ``python serve.py`` on a free loopback port (default settings, rate limit off, sessions
   in a temporary SQLite file) and waits for ``/readyz``.
3. For each concurrency level, that many httpx async clients POST ``/v1/chat`` for ``--duration``
   seconds; throughput, p50/p95/p99 latency and errors (any non-200 or transport error) are counted.
4. Writes ``docs/benchmarks/api_load.json`` and ``.md``.

The index must exist already (``python -m assistant ingest``); settings come from ``ASSISTANT_*``
env vars like everywhere else, with ``--embedder`` / ``--index-dir`` as shortcuts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402

QUESTIONS = [
    "办理普通护照需要什么材料？",
    "护照办理要多长时间？",
    "住房公积金租房可以提取吗？",
    "公积金提取需要哪些材料",
    "社保卡丢了怎么补办？",
    "居住证怎么办理？",
    "新生儿落户需要什么材料",
    "营业执照怎么申请",
    "个体工商户注册流程",
    "医保异地就医怎么备案",
    "退休后医保怎么缴费",
    "驾驶证到期换证需要什么",
    "失业保险金怎么领取",
    "灵活就业人员怎么交社保",
    "生育津贴怎么申请",
    "不动产登记需要多久",
    "结婚登记需要带什么",
    "出生医学证明丢了怎么办",
    "港澳通行证续签",
    "残疾人证怎么办理",
    "高龄津贴申请条件",
    "食品经营许可证办理流程",
    "二手房过户要交哪些税",
    "我要投诉窗口工作人员态度不好",
]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


def summarise(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    ms = [x * 1000 for x in latencies]
    return {
        "requests": len(latencies) + errors,
        "ok": len(latencies),
        "errors": errors,
        "seconds": round(seconds, 2),
        "throughput_rps": round(len(latencies) / seconds, 2) if seconds else 0.0,
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"),
    }


def bare_run(settings: Settings, questions: list[str], duration: float) -> dict[str, Any]:
    """``Assistant.answer()`` in a loop, in this process, one question after another."""
    from assistant.pipeline import Assistant

    assistant = Assistant.from_settings(settings)
    assistant.warm_up()
    for q in questions[:5]:
        assistant.answer(q)
    latencies: list[float] = []
    started = time.perf_counter()
    i = 0
    while time.perf_counter() - started < duration:
        t = time.perf_counter()
        assistant.answer(questions[i % len(questions)])
        latencies.append(time.perf_counter() - t)
        i += 1
    return summarise(latencies, 0, time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    env_overrides: dict[str, str], port: int, workers: int, log_path: Path
) -> subprocess.Popen[bytes]:
    env = {**os.environ, **env_overrides}
    log = open(log_path, "wb")  # noqa: SIM115
    return subprocess.Popen(
        [
            sys.executable,
            "serve.py",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            r = httpx.get(base + "/readyz", timeout=2)
            if r.status_code == 200:
                return dict(r.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server did not become ready")


async def load(base: str, questions: list[str], concurrency: int, duration: float) -> dict[str, Any]:
    """``concurrency`` clients in a closed loop for ``duration`` seconds (after a short unmeasured warm-up)."""
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        for q in questions[:3]:
            await client.post("/v1/chat", json={"question": q})
        stop_at = time.perf_counter() + duration

        async def worker(n: int) -> None:
            i = n
            while time.perf_counter() < stop_at:
                q = questions[i % len(questions)]
                i += concurrency
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/chat", json={"question": q, "channel": "api"})
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - t)
                    else:
                        errors.append(f"HTTP {r.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
    result = summarise(latencies, len(errors), elapsed)
    result["concurrency"] = concurrency
    result["error_kinds"] = sorted(set(errors))[:10]
    return result


def load_questions(path: str | None) -> list[str]:
    if not path:
        return QUESTIONS
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if path.endswith(".jsonl"):
        return [json.loads(x)["question"] for x in lines if x.strip()]
    return [x.strip() for x in lines if x.strip()]


def write_report(result: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    bare = result["bare"]
    rows = [
        "| clients | requests | errors | throughput (req/s) | vs bare | p50 ms | p95 ms | p99 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["levels"]:
        ratio = r["throughput_rps"] / bare["throughput_rps"] if bare["throughput_rps"] else 0.0
        rows.append(
            f"| {r['concurrency']} | {r['requests']} | {r['errors']} | {r['throughput_rps']:.1f} | {ratio:.0%} "
            f"| {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} |"
        )
    checks = result["checks"]
    text = f"""# Chat API load test

Generated by `python benchmarks/load_api.py` on {result["date"]} ({result["machine"]}).

Server: `python serve.py --workers {result["workers"]}` on loopback, default settings except the rate
limit (off) and a temporary session database; embedder `{result["embedder"]}`, answerer
`{result["answerer"]}`, {result["index"].get("index_size", "?")} chunks. Each client POSTs `/v1/chat`
in a closed loop for {result["duration_s"]} s ({len(result["questions"])} questions in rotation); the
load generator runs in a separate process on the same machine.

Bare in-process `Assistant.answer()` (one thread, same questions): **{bare["throughput_rps"]:.1f} req/s**,
p50 {bare["p50_ms"]:.1f} ms, p95 {bare["p95_ms"]:.1f} ms.

{chr(10).join(rows)}

Must hold at 32 clients: no errors — **{"yes" if checks["no_errors"] else "NO"}**; p95 ≤ 1 s —
**{"yes" if checks["p95_le_1s"] else "NO"}**; throughput ≥ 60% of bare —
**{"yes" if checks["throughput_ge_60pct"] else "NO"}** ({checks["throughput_ratio"]:.0%}).
"""
    out.with_suffix(".md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", help="embedder name (default: settings)")
    parser.add_argument("--index-dir", help="index folder (default: settings)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per concurrency level")
    parser.add_argument("--bare-duration", type=float, default=None, help="seconds for the in-process run")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--questions", help="a .jsonl file with 'question' fields, or one question per line")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "api_load"))
    args = parser.parse_args(argv)

    overrides: dict[str, str] = {}
    if args.embedder:
        overrides["ASSISTANT_EMBEDDER__NAME"] = args.embedder
    if args.index_dir:
        overrides["ASSISTANT_INDEX_DIR"] = str(Path(args.index_dir).resolve())
    os.environ.update(overrides)
    settings = Settings()
    index_dir = Path(settings.index_dir)
    if not index_dir.is_dir() or not any(index_dir.iterdir()):
        print(f"no index at {index_dir}; build it first: python -m assistant ingest", file=sys.stderr)
        return 2
    questions = load_questions(args.questions)
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]

    print("bare in-process Assistant.answer() …", flush=True)
    bare = bare_run(settings, questions, args.bare_duration or min(args.duration, 20.0))
    print(f"  {bare['throughput_rps']} req/s, p50 {bare['p50_ms']} ms", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="load_api_"))
    port = free_port()
    env = {
        **overrides,
        "ASSISTANT_API__RATE_LIMIT_PER_MINUTE": "0",
        "ASSISTANT_API__SESSION_DB": str(tmp / "sessions.sqlite3"),
    }
    proc = start_server(env, port, args.workers, tmp / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        info = wait_ready(base, proc)
        results = []
        for c in levels:
            print(f"{c} concurrent clients for {args.duration:.0f} s …", flush=True)
            r = asyncio.run(load(base, questions, c, args.duration))
            print(
                f"  {r['throughput_rps']} req/s, p50 {r['p50_ms']} p95 {r['p95_ms']} p99 {r['p99_ms']} ms, "
                f"errors {r['errors']}",
                flush=True,
            )
            results.append(r)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()

    top = max(results, key=lambda r: r["concurrency"])
    ratio = top["throughput_rps"] / bare["throughput_rps"] if bare["throughput_rps"] else 0.0
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "workers": args.workers,
        "embedder": settings.embedder.name,
        "answerer": settings.answer.answerer,
        "index": info,
        "duration_s": args.duration,
        "questions": questions,
        "bare": bare,
        "levels": results,
        "checks": {
            "concurrency": top["concurrency"],
            "no_errors": top["errors"] == 0,
            "p95_le_1s": top["p95_ms"] <= 1000,
            "throughput_ratio": round(ratio, 3),
            "throughput_ge_60pct": ratio >= 0.6,
        },
    }
    write_report(result, Path(args.out))
    print(f"wrote {Path(args.out).with_suffix('.md')}")
    return (
        0
        if all(v for k, v in result["checks"].items() if k.startswith(("no_", "p95", "throughput_ge")))
        else 1
    )


if __name__ == "__main__":
    raise SystemExit(main())
