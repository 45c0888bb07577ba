"""The server on PostgreSQL: two app instances ("replicas") sharing one database serve one
conversation and one report; `python -m assistant ingest` and `serve.py` upgrade or refuse a database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _api_support import api_settings
from _postgres import SKIP_REASON, find_binaries
from conftest import MINI_KNOWLEDGE
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.cli import main as cli_main
from assistant.storage import make_engine
from assistant.storage.migrate import current_revision, head_revision

ROOT = Path(__file__).resolve().parents[1]
KIOSK = "kiosk-key-0123456789"
ADMIN = "admin-key-0123456789"


def test_two_replicas_on_one_postgresql_share_conversations_and_reports(
    api_assistant: Any, postgres_url: str, tmp_path: Path
) -> None:
    apps = []
    for name in ("a", "b"):
        settings = api_settings(tmp_path / name, kiosk_keys=[KIOSK], admin_keys=[ADMIN])
        settings.database_url = postgres_url
        apps.append(TestClient(create_app(settings, api_assistant)))
    a, b = apps
    with a, b:
        first = a.post(
            "/v1/chat", json={"question": "办理普通护照需要什么材料？"}, headers={"X-API-Key": KIOSK}
        )
        assert first.status_code == 200, first.text
        sid = first.json()["session_id"]
        follow = b.post(
            "/v1/chat", json={"question": "需要多少钱？", "session_id": sid}, headers={"X-API-Key": KIOSK}
        )
        assert follow.status_code == 200, follow.text  # replica b knows replica a's session
        turns = a.get(f"/v1/sessions/{sid}", headers={"X-API-Key": KIOSK}).json()["exchanges"]
        assert len(turns) == 2
        rid = follow.json()["request_id"]
        filed = a.post(
            "/v1/reports", json={"request_id": rid, "reason": "错误"}, headers={"X-API-Key": KIOSK}
        )
        assert filed.status_code == 201, filed.text
        n = filed.json()["tracking_number"]
        moved = b.patch(f"/v1/admin/reports/{n}", json={"status": "处理中"}, headers={"X-API-Key": ADMIN})
        assert moved.status_code == 200
        assert a.get(f"/v1/reports/{n}", headers={"X-API-Key": KIOSK}).json()["status"] == "处理中"
        assert b.delete(f"/v1/sessions/{sid}", headers={"X-API-Key": KIOSK}).status_code == 204
        assert a.get(f"/v1/sessions/{sid}", headers={"X-API-Key": KIOSK}).status_code == 404


def test_ingest_upgrades_an_empty_postgresql(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", postgres_url)
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    engine = make_engine(postgres_url)
    assert current_revision(engine) is None
    argv = ["ingest", "--knowledge", str(MINI_KNOWLEDGE), "--index", str(tmp_path / "index")]
    assert cli_main([*argv, "--embedder", "hash", "--quiet"]) == 0
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_serve_refuses_to_start_on_an_unusable_database(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ASSISTANT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "serve.py"), "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "state database is not usable" in done.stderr and "Traceback" not in done.stderr


def test_missing_server_binaries_are_reported_not_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PG_BINDIR", raising=False)
    assert find_binaries(str(tmp_path / "nothing" / "*" / "bin")) is None
    assert "make postgres" in SKIP_REASON
