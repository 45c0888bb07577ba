"""Knowledge operations through the API in one process (TestClient), with the real ingest subprocess."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _admin_support import (
    ADMIN,
    EDITOR,
    POLICY_QUESTION,
    POLICY_TITLE,
    REVIEWER,
    STAFF_KEYS,
    cited,
    knowledge_copy,
    policy_docx,
    wait_for_job,
)
from conftest import make_settings
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    from assistant.api import create_app
    from assistant.ingest.build import ingest
    from assistant.pipeline import Assistant

    settings = make_settings(
        tmp_path,
        knowledge_dir=knowledge_copy(tmp_path),
        api={"session_db": tmp_path / "s.sqlite3", "rate_limit_per_minute": 0, **STAFF_KEYS},
    )
    ingest(settings)
    app = create_app(settings, Assistant.from_settings(settings))
    with TestClient(app) as client:
        client.headers["X-API-Key"] = ADMIN
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield client, app


def _ask(client: TestClient, question: str = POLICY_QUESTION) -> dict[str, Any]:
    res = client.post("/v1/chat", json={"question": question})
    assert res.status_code == 200, res.text
    return res.json()  # type: ignore[no-any-return]


def _upload(client: TestClient, key: str = EDITOR, **form: str) -> Any:
    files = {"file": ("充电桩补贴.docx", policy_docx(), "application/octet-stream")}
    return client.post("/v1/admin/documents", files=files, data=form, headers={"X-API-Key": key})


def test_upload_patch_rollback_restore_delete(console: tuple[TestClient, Any]) -> None:
    client, app = console
    assert not any(d.startswith("up-") for d in cited(_ask(client)))
    res = _upload(client, department="市发展改革委", region="示例市", type="policy")
    assert res.status_code == 202, res.text
    doc_id, job_id = res.json()["document_id"], res.json()["job_id"]
    job = wait_for_job(client.get, job_id)
    assert job["status"] == "done", job
    assert doc_id in cited(_ask(client))

    listed = client.get("/v1/admin/documents", params={"q": "充电桩"}).json()
    assert listed["items"][0]["id"] == doc_id and listed["items"][0]["uploaded"]
    detail = client.get(f"/v1/admin/documents/{doc_id}").json()
    assert detail["document"]["title"] == POLICY_TITLE and detail["document"]["department"] == "市发展改革委"
    assert detail["document"]["type"] == "policy" and detail["upload"]["filename"] == "充电桩补贴.docx"
    assert any("二千元" in c["text"] for c in detail["chunks"])
    before_repeal = next(
        g["name"] for g in client.get("/v1/admin/index/generations").json()["items"] if g["current"]
    )

    res = client.patch(
        f"/v1/admin/documents/{doc_id}", json={"status": "已废止"}, headers={"X-API-Key": EDITOR}
    )
    assert res.status_code == 200 and res.json()["job_id"]
    assert wait_for_job(client.get, res.json()["job_id"])["status"] == "done"
    assert doc_id not in cited(_ask(client))
    assert client.get(f"/v1/admin/documents/{doc_id}").json()["document"]["in_force"] is False

    res = client.post("/v1/admin/index/rollback", json={"generation": before_repeal})
    assert res.status_code == 200 and res.json()["serving"] == before_repeal
    assert doc_id in cited(_ask(client))

    history = client.get(f"/v1/admin/documents/{doc_id}/versions").json()["items"]
    assert [v["action"] for v in history] == ["update", "upload"]
    assert history[0]["changes"]["status"] == ["现行有效", "已废止"] and history[0]["actor"].startswith(
        "editor:"
    )

    res = client.delete(f"/v1/admin/documents/{doc_id}")
    assert res.status_code == 202
    assert wait_for_job(client.get, res.json()["job_id"])["status"] == "done"
    assert client.get(f"/v1/admin/documents/{doc_id}").status_code == 404
    assert doc_id not in cited(_ask(client))

    res = client.post(f"/v1/admin/documents/{doc_id}/restore", json={"version": 1})
    assert res.status_code == 202
    assert wait_for_job(client.get, res.json()["job_id"])["status"] == "done"
    restored = client.get(f"/v1/admin/documents/{doc_id}").json()["document"]
    assert restored["status"] == "现行有效" and doc_id in cited(_ask(client))

    entries = list(reversed(app.state.db.audit.list(limit=50)))  # the state database's audit log
    actions = [(e.action, e.target, e.role) for e in entries]
    assert actions == [
        ("document.upload", doc_id, "editor"),
        ("document.update", doc_id, "editor"),
        ("index.rollback", before_repeal, "admin"),
        ("document.delete", doc_id, "admin"),
        ("document.restore", doc_id, "admin"),
    ]
    update = entries[1]
    assert update.before["override"].get("status") is None and update.after["override"]["status"] == "已废止"


def test_roles_on_the_document_routes(console: tuple[TestClient, Any]) -> None:
    client, _ = console
    assert _upload(client, key=REVIEWER).status_code == 403
    assert client.get("/v1/admin/documents", headers={"X-API-Key": REVIEWER}).status_code == 200
    assert client.get("/v1/admin/documents", headers={"X-API-Key": ""}).status_code == 401
    doc = client.get("/v1/admin/documents").json()["items"][0]["id"]
    for method, url, body in (
        ("PATCH", f"/v1/admin/documents/{doc}", {"status": "已废止"}),
        ("DELETE", f"/v1/admin/documents/{doc}", None),
        ("POST", f"/v1/admin/documents/{doc}/restore", {"version": 1}),
        ("POST", "/v1/admin/index/rollback", {"generation": "gen-1"}),
    ):
        res = client.request(method, url, json=body, headers={"X-API-Key": REVIEWER})
        assert res.status_code == 403, (method, url)


def test_starter_documents_can_be_overridden_and_bad_input_is_refused(
    console: tuple[TestClient, Any],
) -> None:
    client, _ = console
    items = client.get("/v1/admin/documents", params={"limit": 200}).json()["items"]
    starter = items[0]["id"]
    res = client.patch(f"/v1/admin/documents/{starter}", json={"expiry_date": "2026-12-10"})
    assert res.status_code == 200 and wait_for_job(client.get, res.json()["job_id"])["status"] == "done"
    alerts = client.get("/v1/admin/documents/alerts").json()
    assert starter in [a["id"] for a in alerts["expiring"]]
    same = client.patch(f"/v1/admin/documents/{starter}", json={"expiry_date": "2026-12-10"})
    assert same.status_code == 200 and same.json()["job_id"] is None  # the index already says so

    assert client.patch(f"/v1/admin/documents/{starter}", json={"status": "作废"}).status_code == 422
    assert client.patch(f"/v1/admin/documents/{starter}", json={"expiry_date": "明年"}).status_code == 422
    assert client.patch(f"/v1/admin/documents/{starter}", json={"colour": "red"}).status_code == 422
    assert client.patch("/v1/admin/documents/no-such-doc", json={"status": "已废止"}).status_code == 404
    bad = client.post("/v1/admin/documents", files={"file": ("x.exe", b"MZ", "application/octet-stream")})
    assert bad.status_code == 422
    assert client.get("/v1/admin/jobs/nope").status_code == 404
    assert client.post("/v1/admin/index/rollback", json={"generation": "gen-0-0"}).status_code == 404
