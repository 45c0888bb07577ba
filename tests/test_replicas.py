"""Two ``serve.py`` replicas on different ports sharing one PostgreSQL database and one Redis (real
servers, started by the session fixtures): any replica serves any turn, a limit holds across both, an
ingest on one is served by both; ``serve.py --workers 2`` behaves the same.

The servers share one knowledge folder and one index folder (the mini knowledge base, indexed once
with the hash embedder: retrieval quality is not the point here). Polling of the index pointer is
set to 10 minutes, so the other replica can only pick up a new generation through the Redis notice.
Every test empties Redis first, so limits counted by one test never reach another.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from _admin_support import (
    EDITOR,
    POLICY_QUESTION,
    POLICY_TITLE,
    cited,
    knowledge_copy,
    policy_docx,
    wait_for_job,
)
from conftest import make_settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
KIOSK = "kiosk-replica-secret-0001"
KIOSK_2 = "kiosk-replica-secret-0002"
ADMIN = "admin-replica-secret-0001"
LIMIT = 8  # per minute, per IP and per key


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(env: dict[str, str], log: Path, workers: int = 1, timeout_s: float = 240.0) -> Iterator[str]:
    """``python serve.py`` on a free loopback port; yields its base URL once ``/readyz`` answers 200."""
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "serve.py", "--host", "127.0.0.1", "--port", str(port)]
            + ["--workers", str(workers), "--log-level", "warning"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve.py exited with {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve.py did not become ready: {log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def shared_env(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: Any, redis_server: Any
) -> dict[str, str]:
    """The environment every replica gets: one index folder, one database, one Redis."""
    from assistant.ingest.build import ingest

    tmp = tmp_path_factory.mktemp("replicas")
    settings = make_settings(tmp, knowledge_dir=knowledge_copy(tmp))
    ingest(settings)
    return {
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "ASSISTANT_CACHE_DIR": str(settings.cache_dir),
        "ASSISTANT_EMBEDDER__NAME": "hash",
        "ASSISTANT_EMBEDDER__DIM": str(settings.embedder.dim),
        "ASSISTANT_TODAY": settings.today,
        "ASSISTANT_ANSWER__INTENT": "none",
        "ASSISTANT_ADMIN__POLL_INTERVAL_S": "600",
        "ASSISTANT_DATABASE_URL": postgres_server.create_database("replicas"),
        "ASSISTANT_REDIS_URL": redis_server.url,
        "ASSISTANT_API__KIOSK_KEYS": f'["{KIOSK}", "{KIOSK_2}"]',
        "ASSISTANT_API__ADMIN_KEYS": f'["{ADMIN}"]',
        "ASSISTANT_API__EDITOR_KEYS": f'["{EDITOR}"]',
        "ASSISTANT_API__RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "ASSISTANT_API__SESSION_DB": str(tmp / "must-not-be-used.sqlite3"),
    }


@pytest.fixture(scope="module")
def replicas(shared_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two single-worker replicas started side by side; their base URLs."""
    logs = tmp_path_factory.mktemp("replica-logs")
    with ExitStack() as stack:
        yield [stack.enter_context(serve(shared_env, logs / f"replica{i}.log")) for i in range(2)]


@pytest.fixture
def fresh_limits(redis_server: Any) -> None:
    redis_server.flush()


def chat(base: str, key: str, question: str, session_id: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"question": question}
    if session_id:
        body["session_id"] = session_id
    return httpx.post(base + "/v1/chat", json=body, headers={"X-API-Key": key}, timeout=30)


def test_a_conversation_alternating_between_replicas_keeps_its_context(
    replicas: list[str], shared_env: dict[str, str], fresh_limits: None
) -> None:
    a, b = replicas
    first = chat(a, KIOSK, "办理普通护照需要什么材料？")
    assert first.status_code == 200, first.text
    session = first.json()["session_id"]
    follow = chat(b, KIOSK, "要多长时间？", session)  # the other replica, a follow-up without a topic
    assert follow.status_code == 200, follow.text
    data = follow.json()
    assert data["session_id"] == session
    assert data["citations"] and data["citations"][0]["title"] == "普通护照签发", data  # resolved on B
    assert "7个工作日" in data["answer"] or "15个工作日" in data["answer"], data[
        "answer"
    ]  # the topic carried over
    third = chat(a, KIOSK, "在哪里办？", session)
    assert third.status_code == 200 and third.json()["citations"][0]["title"] == "普通护照签发"
    history = httpx.get(f"{b}/v1/sessions/{session}", headers={"X-API-Key": KIOSK}, timeout=10)
    assert history.status_code == 200
    asked = [t["content"] for t in history.json()["turns"] if t["role"] == "user"]
    assert asked == [
        "办理普通护照需要什么材料？",
        "要多长时间？",
        "在哪里办？",
    ]  # every turn, whichever replica
    foreign = httpx.get(f"{a}/v1/sessions/{session}", headers={"X-API-Key": KIOSK_2}, timeout=10)
    assert foreign.status_code == 404  # ownership holds across replicas too
    assert not Path(shared_env["ASSISTANT_API__SESSION_DB"]).exists()  # PostgreSQL, not a local file


def test_a_rate_limit_holds_across_both_replicas(replicas: list[str], fresh_limits: None) -> None:
    extra = 4
    codes = [
        httpx.get(replicas[i % 2] + "/v1/models", headers={"X-API-Key": KIOSK}, timeout=10).status_code
        for i in range(LIMIT + extra)
    ]
    assert codes.count(200) == LIMIT and codes.count(429) == extra, codes
    assert codes[:LIMIT] == [200] * LIMIT  # the excess are the last ones, whichever replica got them


def test_serve_py_with_two_workers_shares_limits_and_sessions(
    replicas: list[str], shared_env: dict[str, str], tmp_path: Path, redis_server: Any
) -> None:
    """``serve.py --workers 2`` behind one port: two processes, the same shared state as two hosts."""
    with serve(shared_env, tmp_path / "workers2.log", workers=2) as both:
        redis_server.flush()
        first = chat(both, KIOSK, "办理普通护照需要什么材料？")
        assert first.status_code == 200, first.text
        session = first.json()["session_id"]
        follow = chat(replicas[0], KIOSK, "要多长时间？", session)
        assert follow.status_code == 200, follow.text
        assert follow.json()["citations"][0]["title"] == "普通护照签发", follow.json()
        assert "工作日" in follow.json()["answer"], follow.json()["answer"]
        redis_server.flush()
        codes = []
        for _ in range(LIMIT + 3):
            with httpx.Client(timeout=10) as fresh:  # a new connection each time: either worker may take it
                codes.append(fresh.get(both + "/v1/models", headers={"X-API-Key": KIOSK}).status_code)
        assert codes.count(200) == LIMIT and codes.count(429) == 3, codes


def test_an_upload_on_one_replica_is_served_by_both(replicas: list[str], fresh_limits: None) -> None:
    """The console's upload → ingest job on replica A; B switches on A's Redis notice (polling is 10 min)."""
    a, b = replicas
    ask = {"question": POLICY_QUESTION}
    for base in replicas:
        before = httpx.post(base + "/v1/chat", json=ask, headers={"X-API-Key": ADMIN}, timeout=30).json()
        assert POLICY_TITLE not in {c["title"] for c in before["citations"]}
    res = httpx.post(
        a + "/v1/admin/documents",
        files={"file": ("充电桩补贴.docx", policy_docx(), "application/octet-stream")},
        headers={"X-API-Key": EDITOR},
        timeout=30,
    )
    assert res.status_code == 202, res.text
    doc_id = res.json()["document_id"]
    with httpx.Client(base_url=b, headers={"X-API-Key": ADMIN}, timeout=30) as on_b:
        job = wait_for_job(on_b.get, res.json()["job_id"], timeout=180)  # the job record is shared too
        assert job["status"] == "done", job
        for base in (a, b):
            deadline = time.monotonic() + 15
            while True:
                answer = httpx.post(
                    base + "/v1/chat", json=ask, headers={"X-API-Key": ADMIN}, timeout=30
                ).json()
                if doc_id in cited(answer):
                    break
                assert time.monotonic() < deadline, (base, answer["citations"])
                time.sleep(0.2)
        serving = [
            httpx.get(base + "/readyz", timeout=10).json()["retriever"]["generation"] for base in (a, b)
        ]
        assert serving[0] == serving[1], serving  # both on the new generation
