"""The issue's must-hold checks against the real ``python serve.py`` over HTTP, with role keys:
upload a DOCX policy → cited; 8 clients chatting through every swap see 0 errors; 已废止 → not
cited; rollback → cited again; a reviewer key cannot upload; every admin action is in the audit log. Hash embedder, mini knowledge base."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from _admin_support import (
    ADMIN,
    EDITOR,
    POLICY_QUESTION,
    REVIEWER,
    cited,
    knowledge_copy,
    policy_docx,
    wait_for_job,
)
from conftest import make_settings
from web_fixtures import serve_py

pytestmark = pytest.mark.integration

WORKERS = 2  # each process follows the index pointer; jobs live in the shared state database
OTHER_QUESTIONS = ["办理普通护照需要什么材料？", "居住证怎么办理？", POLICY_QUESTION]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from assistant.ingest.build import ingest

    tmp = tmp_path_factory.mktemp("admin_server")
    settings = make_settings(tmp, knowledge_dir=knowledge_copy(tmp))
    ingest(settings)
    env = {
        "ASSISTANT_KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CACHE_DIR": str(settings.cache_dir),
        "ASSISTANT_EMBEDDER__NAME": "hash",
        "ASSISTANT_EMBEDDER__DIM": "256",
        "ASSISTANT_TODAY": settings.today,
        "ASSISTANT_ANSWER__INTENT": "none",
        "ASSISTANT_API__SESSION_DB": str(tmp / "sessions.sqlite3"),
        "ASSISTANT_API__RATE_LIMIT_PER_MINUTE": "0",
        "ASSISTANT_API__ADMIN_KEYS": json.dumps([ADMIN]),
        "ASSISTANT_API__EDITOR_KEYS": json.dumps([EDITOR]),
        "ASSISTANT_API__REVIEWER_KEYS": json.dumps([REVIEWER]),
    }
    with serve_py(env, startup_timeout_s=180, args=["--workers", str(WORKERS)]) as base:
        # serve_py saw one ready worker; wait until every worker answers ready (a row of 200s)
        deadline, streak = time.monotonic() + 180, 0
        while streak < 4 * WORKERS and time.monotonic() < deadline:
            streak = streak + 1 if httpx.get(base + "/readyz", timeout=10).status_code == 200 else 0
            time.sleep(0.05)
        yield base


class Chatters:
    """``n`` clients asking questions in a loop until stopped; every non-200 or exception is kept."""

    def __init__(self, base: str, n: int = 8) -> None:
        self.base, self.errors, self.answers = base, [], 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)]
        self._lock = threading.Lock()

    def __enter__(self) -> Chatters:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _run(self, i: int) -> None:
        with httpx.Client(base_url=self.base, headers={"X-API-Key": ADMIN}, timeout=30) as client:
            while not self._stop.is_set():
                question = OTHER_QUESTIONS[i % len(OTHER_QUESTIONS)]
                try:
                    res = client.post("/v1/chat", json={"question": question})
                    ok = res.status_code == 200 and bool(res.json().get("answer"))
                    problem = None if ok else f"{res.status_code} {res.text[:200]}"
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self.answers += 1
                    if problem:
                        self.errors.append(problem)


def _client(base: str, key: str = ADMIN) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30)


def _eventually(client: httpx.Client, want_cited: bool, doc_id: str, timeout: float = 15.0) -> None:
    """Every serving process converges: ``2 × WORKERS + 2`` answers in a row agree."""
    deadline, streak = time.monotonic() + timeout, 0
    while streak < 2 * WORKERS + 2:
        answer = client.post("/v1/chat", json={"question": POLICY_QUESTION}).json()
        streak = streak + 1 if (doc_id in cited(answer)) == want_cited else 0
        assert time.monotonic() < deadline, (
            f"{doc_id} cited={not want_cited} still: {answer.get('citations')}"
        )


def test_reviewer_cannot_upload_and_staff_keys_are_required(server: str) -> None:
    files = {"file": ("p.docx", policy_docx(), "application/octet-stream")}
    assert (
        httpx.post(server + "/v1/admin/documents", files=files, headers={"X-API-Key": REVIEWER}).status_code
        == 403
    )
    assert httpx.post(server + "/v1/admin/documents", files=files).status_code == 401
    assert (
        httpx.get(server + "/v1/admin/documents", headers={"Authorization": f"Bearer {REVIEWER}"}).status_code
        == 200
    )


def test_upload_repeal_rollback_while_8_clients_chat(server: str) -> None:
    admin, editor = _client(server), _client(server, EDITOR)
    started = time.monotonic()
    with Chatters(server) as chatters:
        res = editor.post(
            "/v1/admin/documents",
            files={"file": ("充电桩补贴.docx", policy_docx(), "application/octet-stream")},
        )
        assert res.status_code == 202, res.text
        doc_id = res.json()["document_id"]
        job = wait_for_job(admin.get, res.json()["job_id"], timeout=120)
        assert job["status"] == "done", job
        _eventually(admin, True, doc_id)
        upload_s = time.monotonic() - started
        generation = next(
            g["name"] for g in admin.get("/v1/admin/index/generations").json()["items"] if g["current"]
        )

        res = editor.patch(f"/v1/admin/documents/{doc_id}", json={"status": "已废止"})
        assert res.status_code == 200 and res.json()["job_id"], res.text
        assert wait_for_job(admin.get, res.json()["job_id"])["status"] == "done"
        _eventually(admin, False, doc_id)

        res = admin.post("/v1/admin/index/rollback", json={"generation": generation})
        assert res.status_code == 200 and res.json()["generation"]["current"], res.text
        _eventually(admin, True, doc_id)
    assert upload_s < 120
    assert chatters.errors == [] and chatters.answers > 20, (chatters.answers, chatters.errors[:5])
    audit = admin.get("/v1/admin/audit", params={"limit": 50}).json()["items"]
    seen = [(e["action"], e["target"], e["role"]) for e in reversed(audit)]
    assert seen == [
        ("document.upload", doc_id, "editor"),
        ("document.update", doc_id, "editor"),
        ("index.rollback", generation, "admin"),
    ]
    assert audit[1]["after"]["override"]["status"] == "已废止" and audit[1]["actor"].startswith("editor:")
