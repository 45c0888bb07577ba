"""Ingest jobs: the console's changes reach the index through ``python -m assistant ingest`` run as a
separate, capped process, one job at a time, never on the request path.

Why a subprocess: on a 2-core box a second torch/onnx thread pool in the server process pushes chat
answers from ~40 ms to over a second. The child runs at a low CPU priority (``nice``) with one
thread for torch / OpenMP / BLAS / onnxruntime (``admin.ingest_threads``), so the serving process
keeps the rest; ``benchmarks/ingest_during_chat.py`` measures chat p95 while a job runs.

The child gets the server's settings (without API keys or LLM secrets) as a JSON file and reports
progress as JSON lines (``cli.py --progress-json``), which update the job record. When the child
has written a new generation, ``on_done`` (``Assistant.refresh_index``) swaps it in for this
process; other server processes hear of the moved pointer from the notifier or by polling (``notify.IndexWatcher``).

A change submitted while another job is still queued joins that job (it will ingest the knowledge
folder as it is when it starts, so it covers both changes).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import queue
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..config import Settings
from .ports import JobRecord, JobStore

log = logging.getLogger(__name__)

INGEST_KIND = "ingest"
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def child_settings(settings: Settings) -> dict[str, Any]:
    """The settings the ingest child needs, with thread caps applied and no secrets."""
    data = settings.model_dump(mode="json", exclude={"api", "llm", "database_url"})
    threads = settings.admin.ingest_threads
    data["embedder"]["threads"] = threads
    data["ocr"]["threads"] = threads
    return data


def child_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_API__")}
    for name in THREAD_ENV:
        env[name] = str(settings.admin.ingest_threads)
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def ingest_command(settings_file: Path, nice: int) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "assistant",
        "ingest",
        "--progress-json",
        "--settings-json",
        str(settings_file),
    ]
    nice_bin = shutil.which("nice")
    return [nice_bin, "-n", str(nice), *command] if nice_bin and nice > 0 else command


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class IngestRunner:
    """Runs queued ingest jobs one after another in a background thread."""

    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        on_done: Callable[[], object] = lambda: None,
        command: Callable[[Path], Sequence[str]] | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.on_done = on_done
        self._command = command or (lambda path: ingest_command(path, settings.admin.ingest_nice))
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._queued: str | None = None  # the job new changes may join
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[str] | None = None
        self._closed = False

    def submit(self, actor: str, message: str) -> JobRecord:
        """Queue an ingest (or join the one already queued); returns its record."""
        with self._lock:
            if self._queued is not None:
                job = self.jobs.get(self._queued)
                if job is not None and job.status == "queued":
                    return job
            job = self.jobs.create(INGEST_KIND, actor=actor, message=message)
            self._queued = job.id
            self._queue.put(job.id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="ingest-jobs", daemon=True)
                self._thread.start()
            return job

    def fail_abandoned(self, now: float | None = None) -> int:
        """Mark jobs still queued/running long after any job could have ended (their server process
        stopped mid-job) as failed, so the console stops waiting for them; returns how many."""
        cutoff = (now or time.time()) - self.settings.admin.ingest_timeout_s - 60
        stale = [
            j
            for status in ("queued", "running")
            for j in self.jobs.list(kind=INGEST_KIND, status=status, limit=200)
            if j.created_at < cutoff
        ]
        for j in stale:
            self.jobs.finish(j.id, ok=False, message="任务中断：处理它的服务进程已停止，请重新提交")
        return len(stale)

    def close(self) -> None:
        """Stop taking jobs and end a running child (its job is marked failed)."""
        self._closed = True
        self._queue.put(None)
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wait_idle(self, timeout: float) -> bool:
        """True once no job is queued or running (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.05)
        return False

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            try:
                if job_id is None or self._closed:
                    return
                with self._lock:
                    if self._queued == job_id:
                        self._queued = None
                self._run(job_id)
            except Exception:  # the worker must survive anything one job does
                log.exception("ingest job %s crashed", job_id)
            finally:
                self._queue.task_done()

    def _run(self, job_id: str) -> None:
        self.jobs.start(job_id, "等待其他索引任务完成")
        # one ingest at a time across every server process sharing this index directory
        with (
            _exclusive(Path(self.settings.index_dir) / ".ingest.lock"),
            tempfile.TemporaryDirectory(prefix="ingest-job-") as tmp,
        ):
            self.jobs.progress(job_id, 0.0, "正在读取知识库")
            settings_file = Path(tmp) / "settings.json"
            settings_file.write_text(
                json.dumps(child_settings(self.settings), ensure_ascii=False), encoding="utf-8"
            )
            ok, message, report = self._child(job_id, settings_file, Path(tmp) / "stderr.txt")
        if ok and report.get("written"):
            try:
                self.on_done()
            except Exception as exc:  # the index is written; this process will pick it up by polling
                log.error("refresh after ingest job %s failed: %s", job_id, exc)
        if ok and report.get("skipped_uploads"):
            ok, message = False, "上传的文件无法读取：" + "；".join(report["skipped_uploads"])
        self.jobs.finish(job_id, ok=ok, message=message, result=report)

    def _child(self, job_id: str, settings_file: Path, stderr_file: Path) -> tuple[bool, str, dict[str, Any]]:
        started = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(stderr_file, "w+", encoding="utf-8", errors="replace") as err:
            process = subprocess.Popen(
                list(self._command(settings_file)),
                stdout=subprocess.PIPE,
                stderr=err,  # a file, not a pipe: a chatty child cannot block on a full pipe
                text=True,
                env=child_env(self.settings),
                cwd=os.getcwd(),
            )
        self._process = process
        timer = threading.Timer(self.settings.admin.ingest_timeout_s, process.kill)
        timer.start()
        report: dict[str, Any] = {}
        try:
            assert process.stdout is not None
            for line in process.stdout:
                report = self._on_line(job_id, line) or report
            code = process.wait()
            stderr = stderr_file.read_text(encoding="utf-8", errors="replace")
        finally:
            timer.cancel()
            self._process = None
        seconds = round(time.monotonic() - started, 1)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU the child used (what the job costs on an idle box), next to its wall time
        report["cpu_s"] = round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1)
        report["wall_s"] = seconds
        if code != 0:
            tail = (stderr.strip().splitlines() or [f"exit status {code}"])[-1][:300]
            return False, f"索引更新失败（{seconds} 秒）：{tail}", report
        report["skipped_uploads"] = [
            s["path"] for s in report.get("skipped", []) if "/_admin/" in s["path"].replace(os.sep, "/")
        ]
        changed = (
            len(report.get("added", [])) + len(report.get("changed", [])) + len(report.get("removed", []))
        )
        return True, f"完成：{changed} 个文档有变化，用时 {seconds} 秒", report

    def _on_line(self, job_id: str, line: str) -> dict[str, Any] | None:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            return None
        if not isinstance(event, dict):
            return None
        if event.get("stage") == "done":
            report = event.get("report")
            return report if isinstance(report, dict) else None
        stage = {"loading": "正在读取知识库", "embedding": "正在计算向量", "writing": "正在写入索引"}
        try:
            self.jobs.progress(
                job_id, float(event.get("progress", 0.0)), stage.get(str(event.get("stage")), "")
            )
        except Exception as exc:  # progress is best effort
            log.debug("progress update failed: %s", exc)
        return None
