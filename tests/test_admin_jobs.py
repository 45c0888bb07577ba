"""The ingest job runner with scripted child processes: progress lines, done/failed, one at a time, joining."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from assistant.admin.jobs import IngestRunner, child_env, child_settings, ingest_command
from assistant.admin.memory import MemoryJobs
from tests.conftest import make_settings


def _script(tmp: Path, body: str) -> list[str]:
    path = tmp / "child.py"
    path.write_text(body, encoding="utf-8")
    return [sys.executable, str(path)]


def test_progress_lines_update_the_job_and_a_written_index_triggers_the_refresh(tmp_path: Path) -> None:
    report = {
        "added": ["a"],
        "changed": [],
        "removed": [],
        "skipped": [],
        "written": True,
        "chunks_embedded": 3,
    }
    body = (
        "import json, sys\n"
        "for stage, p in (('loading', 0.0), ('embedding', 0.5), ('writing', 0.9)):\n"
        "    print(json.dumps({'stage': stage, 'progress': p}), flush=True)\n"
        "print('not json: ignored')\n"
        f"print(json.dumps({{'stage': 'done', 'progress': 1.0, 'report': {report!r}}}))\n"
    )
    jobs, refreshed = MemoryJobs(), threading.Event()
    runner = IngestRunner(
        make_settings(tmp_path), jobs, on_done=refreshed.set, command=lambda p: _script(tmp_path, body)
    )
    job = runner.submit("editor:abc", "上传")
    assert job.status == "queued"
    assert runner.wait_idle(60)
    done = jobs.get(job.id)
    assert done is not None and done.status == "done" and done.progress == 1.0 and done.actor == "editor:abc"
    assert done.result["chunks_embedded"] == 3 and refreshed.is_set()
    runner.close()


def test_a_failing_child_fails_the_job_with_its_last_error_line(tmp_path: Path) -> None:
    body = "import sys\nprint('loading…', file=sys.stderr)\nprint('error: disk full', file=sys.stderr)\nsys.exit(2)\n"
    jobs = MemoryJobs()
    runner = IngestRunner(make_settings(tmp_path), jobs, command=lambda p: _script(tmp_path, body))
    job = runner.submit("admin:x", "删除")
    assert runner.wait_idle(60)
    failed = jobs.get(job.id)
    assert failed is not None and failed.status == "failed" and "disk full" in failed.message
    runner.close()


def test_changes_join_the_queued_job_and_jobs_run_one_at_a_time(tmp_path: Path) -> None:
    body = (
        "import json, time\ntime.sleep(0.5)\n"
        "print(json.dumps({'stage': 'done', 'progress': 1.0, 'report': {'written': False, 'skipped': []}}))\n"
    )
    jobs = MemoryJobs()
    runner = IngestRunner(make_settings(tmp_path), jobs, command=lambda p: _script(tmp_path, body))
    first = runner.submit("a", "1")
    while jobs.get(first.id).status == "queued":  # type: ignore[union-attr]
        pass
    second = runner.submit("a", "2")
    third = runner.submit("a", "3")
    assert third.id == second.id != first.id  # queued behind the running one, and joined
    assert runner.wait_idle(60)
    runs = sorted(jobs.list(), key=lambda j: j.started_at or 0)
    assert [j.status for j in runs] == ["done", "done"]
    assert runs[0].finished_at <= runs[1].started_at  # type: ignore[operator]
    runner.close()


def test_the_child_is_capped_and_gets_no_secrets(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        api={"admin_keys": ["secret-admin-key-0123456789"]},
        admin={"ingest_threads": 1, "ingest_nice": 15},
    )
    data = child_settings(settings)
    assert "api" not in data and "llm" not in data and "secret-admin" not in json.dumps(data)
    assert data["embedder"]["threads"] == 1 and data["ocr"]["threads"] == 1
    env = child_env(settings)
    assert env["OMP_NUM_THREADS"] == "1" and not any(k.startswith("ASSISTANT_API__") for k in env)
    command = ingest_command(tmp_path / "s.json", 15)
    assert command[:3] == [command[0], "-n", "15"] and command[0].endswith("nice")
    assert "--progress-json" in command and command[-2:] == ["--settings-json", str(tmp_path / "s.json")]


def test_jobs_left_behind_by_a_stopped_server_are_failed(tmp_path: Path) -> None:
    jobs = MemoryJobs()
    settings = make_settings(tmp_path, admin={"ingest_timeout_s": 60})
    old, queued = jobs.create("ingest"), jobs.create("ingest")
    jobs.start(old.id)
    runner = IngestRunner(settings, jobs)
    assert runner.fail_abandoned(now=old.created_at + 121) == 2
    assert runner.fail_abandoned(now=old.created_at + 121) == 0
    assert {jobs.get(j.id).status for j in (old, queued)} == {"failed"}  # type: ignore[union-attr]
    assert runner.fail_abandoned(now=time.time()) == 0
