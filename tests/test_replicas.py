"""Two ``serve.py`` replicas on different ports sharing one PostgreSQL database and one Redis (real
servers, started by the session fixtures): any replica serves any turn, a limit holds across both, an
ingest on one is served by both; ``serve.py --workers 2`` behaves the same.

The servers share one index folder built once with the hash embedder (retrieval quality is not the
point here). Every test empties Redis first, so limits counted by one test never reach another.
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
from _api_support import build_api_index

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
    tmp = tmp_path_factory.mktemp("replicas")
    index_dir = build_api_index(tmp)
    return {
        "ASSISTANT_INDEX_DIR": str(index_dir),
        "ASSISTANT_KNOWLEDGE_DIR": str(tmp / "knowledge"),
        "ASSISTANT_CACHE_DIR": str(tmp / "cache"),
        "ASSISTANT_EMBEDDER__NAME": "hash",
        "ASSISTANT_EMBEDDER__DIM": "256",
        "ASSISTANT_TODAY": "2026-11-26",
        "ASSISTANT_DATABASE_URL": postgres_server.create_database("replicas"),
        "ASSISTANT_REDIS_URL": redis_server.url,
        "ASSISTANT_API__KIOSK_KEYS": f'["{KIOSK}", "{KIOSK_2}"]',
        "ASSISTANT_API__ADMIN_KEYS": f'["{ADMIN}"]',
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
    assert "7个工作日" in data["answer"] or "15个工作日" in data["answer"], data["answer"]
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
        first = chat(both, KIOSK, "社保卡丢了怎么补办？")
        assert first.status_code == 200, first.text
        session = first.json()["session_id"]
        follow = chat(replicas[0], KIOSK, "需要多少钱？", session)
        assert (
            follow.status_code == 200 and follow.json()["citations"][0]["title"] == "社保卡丢失了怎么补办？"
        )
        redis_server.flush()
        codes = []
        for _ in range(LIMIT + 3):
            with httpx.Client(timeout=10) as fresh:  # a new connection each time: either worker may take it
                codes.append(fresh.get(both + "/v1/models", headers={"X-API-Key": KIOSK}).status_code)
        assert codes.count(200) == LIMIT and codes.count(429) == 3, codes
