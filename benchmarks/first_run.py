"""First run: a fresh ``ingest`` (empty cache and index directories, shipped vectors in knowledge/)
followed by ``serve.py`` until ``/readyz`` answers 200 — what ``make run`` does after the install step.

Runs each precision given (``auto`` takes bf16 where the CPU has native bf16; ``fp32`` stands in for
a CPU without it) and writes docs/benchmarks/first_run.{md,json} with the CPU model and load average.

    python benchmarks/first_run.py [--precisions auto fp32] [--port 18731]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def wait_ready(port: int, proc: subprocess.Popen[bytes], limit: float = 600) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < limit and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError("server did not become ready")


def one(precision: str, port: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "ASSISTANT_CACHE_DIR": f"{tmp}/cache",
            "ASSISTANT_INDEX_DIR": f"{tmp}/index",
            "ASSISTANT_EMBEDDER__PRECISION": precision,
        }
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "assistant", "ingest", "--quiet"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        ingest_s = time.perf_counter() - t0
        proc = subprocess.Popen(
            [sys.executable, "serve.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            ready_s = wait_ready(port, proc)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    summary = done.stdout.strip().splitlines()[0]
    return {
        "precision": precision,
        "ingest_s": round(ingest_s, 1),
        "serve_to_ready_s": round(ready_s, 1),
        "total_s": round(ingest_s + ready_s, 1),
        "ingest_summary": summary,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precisions", nargs="+", default=["auto", "fp32"])
    ap.add_argument("--port", type=int, default=18731)
    args = ap.parse_args()
    rows = [one(p, args.port) for p in args.precisions]
    seed = ROOT / "knowledge" / "_vectors" / "embeddings.npz"
    report = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average_end": round(os.getloadavg()[0], 1),
        "shipped_vectors_mb": round(seed.stat().st_size / 2**20, 1) if seed.exists() else 0,
        "runs": rows,
    }
    (OUT / "first_run.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    lines = [
        "# First run: fresh ingest with shipped vectors, then serve until /readyz",
        "",
        f"CPU: {report['cpu']}, {report['cores']} cores, load average at end {report['load_average_end']}. "
        f"Shipped vectors: {report['shipped_vectors_mb']} MB. Empty cache and index directories each run.",
        "",
        "| precision | ingest s | serve → /readyz s | total s | ingest summary |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['precision']} | {r['ingest_s']} | {r['serve_to_ready_s']} | {r['total_s']} | {r['ingest_summary']} |"
        )
    (OUT / "first_run.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
