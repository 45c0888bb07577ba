"""Issue 15, findings 2, 3, 12 and 15: server-owned exchange ids, sessions bound to their creator,
storage failures reported before ``done``, idle session expiry."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _api_support import parse_sse
from fastapi.testclient import TestClient
from sqlalchemy import event

from assistant.errors import ConflictError, StorageError
from assistant.sessions import Exchange, MemorySessionStore
from assistant.storage import SQLSessionStore, open_session_store, sqlite_url


def sqlite_store(path: Path | str, idle_seconds: float = 0.0) -> SQLSessionStore:
    return open_session_store(sqlite_url(path), idle_seconds)


Q = "办理普通护照需要什么材料？"
KIOSK_A, KIOSK_B, WIDGET, ADMIN = (
    "kiosk-a-0123456789",
    "kiosk-b-0123456789",
    "widget-0123456789",
    "admin-0123456789",
)
ORIGIN = "https://portal.example.gov.cn"


@pytest.fixture
def keyed(make_api_client: Callable[..., TestClient]) -> TestClient:
    return make_api_client(
        kiosk_keys=[KIOSK_A, KIOSK_B], widget_keys=[WIDGET], admin_keys=[ADMIN], allowed_origins=[ORIGIN]
    )


def _h(key: str) -> dict[str, str]:
    headers = {"X-API-Key": key}
    if key == WIDGET:
        headers["Origin"] = ORIGIN
    return headers


def _ask(client: TestClient, key: str, **body: object) -> dict:
    r = client.post("/v1/chat", json={"question": Q, **body}, headers=_h(key))
    assert r.status_code == 200, r.text
    return r.json()


# --- finding 2: a client X-Request-ID never becomes (or replaces) a stored exchange ------------------


def test_client_request_id_is_only_a_correlation_id(api_client: TestClient) -> None:
    victim = api_client.post("/v1/chat", json={"question": Q}).json()
    api_client.post(
        "/v1/feedback",
        json={"request_id": victim["request_id"], "rating": "up", "session_id": victim["session_id"]},
    )
    attack = api_client.post(
        "/v1/chat", json={"question": "别的问题"}, headers={"X-Request-ID": victim["request_id"]}
    )
    assert attack.headers["x-request-id"] == victim["request_id"]  # echoed for correlation
    assert attack.json()["request_id"] != victim["request_id"]  # but not the exchange id
    stored = api_client.get(f"/v1/sessions/{victim['session_id']}").json()["exchanges"]
    assert [e["question"] for e in stored] == [Q] and stored[0]["feedback"]["rating"] == "up"


@pytest.mark.parametrize("make_store", [MemorySessionStore, lambda: sqlite_store(":memory:")])
def test_an_existing_exchange_is_never_replaced(make_store: Callable[[], object]) -> None:
    store = make_store()
    store.append(Exchange("r1", "s1", "问题一", "回答一"))  # type: ignore[attr-defined]
    with pytest.raises(ConflictError):
        store.append(Exchange("r1", "s2", "问题二", "回答二"))  # type: ignore[attr-defined]
    assert [e.question for e in store.exchanges("s1")] == ["问题一"]  # type: ignore[attr-defined]
    assert store.exchanges("s2") is None  # type: ignore[attr-defined]


# --- finding 3: sessions are bound to the key that created them -------------------------------------


def test_a_foreign_key_cannot_read_append_rate_or_delete(keyed: TestClient) -> None:
    mine = _ask(keyed, KIOSK_A)
    sid, rid = mine["session_id"], mine["request_id"]
    for other in (KIOSK_B, WIDGET):
        assert keyed.get(f"/v1/sessions/{sid}", headers=_h(other)).status_code == 404
        r = keyed.post("/v1/chat", json={"question": Q, "session_id": sid}, headers=_h(other))
        assert r.status_code == 404
        r = keyed.post("/v1/feedback", json={"request_id": rid, "rating": "down"}, headers=_h(other))
        assert r.status_code == 404
        r = keyed.post(
            "/v1/feedback", json={"request_id": rid, "rating": "down", "session_id": sid}, headers=_h(other)
        )
        assert r.status_code == 404
        assert keyed.delete(f"/v1/sessions/{sid}", headers=_h(other)).status_code == 404
    own = keyed.get(f"/v1/sessions/{sid}", headers=_h(KIOSK_A)).json()
    assert len(own["exchanges"]) == 1 and own["exchanges"][0]["feedback"] is None
    assert keyed.get(f"/v1/sessions/{sid}", headers=_h(ADMIN)).status_code == 200  # admin sees all
    assert keyed.delete(f"/v1/sessions/{sid}", headers=_h(KIOSK_A)).status_code == 204


def test_widget_visitors_need_their_own_session_token(keyed: TestClient) -> None:
    mine = _ask(keyed, WIDGET)
    bare = {"request_id": mine["request_id"], "rating": "up"}
    assert keyed.post("/v1/feedback", json=bare, headers=_h(WIDGET)).status_code == 404
    with_token = {**bare, "session_id": mine["session_id"]}
    assert keyed.post("/v1/feedback", json=with_token, headers=_h(WIDGET)).status_code == 201
    follow = _ask(keyed, WIDGET, session_id=mine["session_id"])
    assert follow["session_id"] == mine["session_id"]


def test_clients_cannot_choose_session_ids(keyed: TestClient) -> None:
    r = keyed.post("/v1/chat", json={"question": Q, "session_id": "chosen-by-client"}, headers=_h(KIOSK_A))
    assert r.status_code == 404
    assert keyed.get("/v1/sessions/chosen-by-client", headers=_h(KIOSK_A)).status_code == 404
    fresh = _ask(keyed, KIOSK_A)["session_id"]
    assert len(fresh) >= 32 and fresh != "chosen-by-client"


def test_stored_ids_are_hashes_of_the_client_token(keyed: TestClient, tmp_path: Path) -> None:
    token = _ask(keyed, KIOSK_A)["session_id"]
    store = keyed.app.state.store  # type: ignore[attr-defined]
    assert store.exchanges(token) is None  # the token itself is not a key in the store


# --- finding 12: storage failure before ``done`` -----------------------------------------------------


class _FullDisk(MemorySessionStore):
    def append(self, exchange: Exchange) -> None:
        raise StorageError("session storage failed: database or disk is full")


def _full_disk_client(api_assistant: object, tmp_path: Path) -> TestClient:
    from _api_support import api_settings

    from assistant.api import create_app

    app = create_app(api_settings(tmp_path), api_assistant, store=_FullDisk())  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


def test_storage_failure_is_a_503_with_retry_after(api_assistant: object, tmp_path: Path) -> None:
    with _full_disk_client(api_assistant, tmp_path) as client:
        r = client.post("/v1/chat", json={"question": Q})
    assert r.status_code == 503 and r.headers["retry-after"]
    assert r.json()["error"]["code"] == "storage_unavailable"


def test_storage_failure_in_a_stream_is_an_error_event_not_done(
    api_assistant: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), _full_disk_client(api_assistant, tmp_path) as client:
        r = client.post("/v1/chat", json={"question": Q, "stream": True})
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 1 and not errors[0].exc_info  # one line, no traceback
    names = [n for n, _ in parse_sse(r.text)]
    assert "done" not in names and names[-1] == "error"
    error = parse_sse(r.text)[-1][1]["error"]
    assert error["status"] == 503 and error["code"] == "storage_unavailable" and error["retry_after"]


def test_sqlite_write_failure_becomes_storage_error(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path / "s.db")
    store.engine.dispose()  # new connections are made read-only: every write fails, like a full disk
    event.listen(store.engine, "connect", lambda conn, _rec: conn.execute("PRAGMA query_only=ON"))
    with pytest.raises(StorageError):
        store.append(Exchange("r1", "s1", "q", "a"))
    store.close()


# --- finding 15: idle sessions expire ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_idle_sessions_expire_and_are_purged(kind: str, tmp_path: Path) -> None:
    store = MemorySessionStore(idle_seconds=60) if kind == "memory" else sqlite_store(tmp_path / "s.db", 60)
    store.create("old-session", "k1")
    store.append(Exchange("r1", "old-session", "q", "a", created_at=time.time() - 120))
    assert store.owner("old-session") is None  # idle for two minutes: gone
    store.create("new-session", "k1")
    assert store.owner("new-session") == "k1"
    if isinstance(store, SQLSessionStore):
        store.purge_expired()
        rows = sqlite3.connect(tmp_path / "s.db").execute("SELECT count(*) FROM exchanges").fetchone()[0]
        assert rows == 0
    else:
        assert store.exchanges("old-session") is None


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_store_records_owner_and_the_session_of_an_exchange(kind: str, tmp_path: Path) -> None:
    store = MemorySessionStore() if kind == "memory" else sqlite_store(tmp_path / "s.db")
    store.create("s-owned", "key-a")
    with pytest.raises(ConflictError):
        store.create("s-owned", "key-b")  # a session is never taken over
    store.append(Exchange("r1", "s-owned", "q", "a"))
    assert store.owner("s-owned") == "key-a" and store.owner("s-missing") is None
    assert store.session_of("r1") == "s-owned" and store.session_of("r-missing") is None
    assert store.delete("s-owned") and store.owner("s-owned") is None
