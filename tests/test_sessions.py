"""SessionStore contract, run against every backend (SQLite, PostgreSQL, memory); SQLite persistence and real deletion."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.config import APISettings
from assistant.errors import ConfigError
from assistant.sessions import Exchange, MemorySessionStore, SessionStore, history
from assistant.storage import SQLSessionStore, make_session_store, open_session_store, sqlite_url

PHONE = "13812345678"


def sqlite_store(path: Path | str, idle_seconds: float = 0.0) -> SQLSessionStore:
    return open_session_store(sqlite_url(path), idle_seconds)


ID_CARD = "11010519491231002X"


def _ex(rid: str, sid: str = "session-aaaa", q: str = "怎么办护照", a: str = "带身份证[1]。") -> Exchange:
    return Exchange(
        request_id=rid,
        session_id=sid,
        question=q,
        answer=a,
        answered_by="extractive",
        citations=[{"n": 1, "doc_id": "d1", "title": "护照", "url": ""}],
    )


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> SessionStore:
    made: SessionStore
    if request.param == "sqlite":
        made = sqlite_store(tmp_path / "s.db")
    elif request.param == "postgresql":
        made = open_session_store(request.getfixturevalue("postgres_url"))
    else:
        made = MemorySessionStore()
    yield made  # type: ignore[misc]
    made.close()


def test_exchanges_come_back_in_order_with_history_turns(store: SessionStore) -> None:
    for i in range(7):
        store.append(_ex(f"r{i}", q=f"问题{i}", a=f"回答{i}"))
    got = store.exchanges("session-aaaa")
    assert got is not None and [e.request_id for e in got] == [f"r{i}" for i in range(7)]
    last2 = store.exchanges("session-aaaa", limit=2)
    assert last2 is not None and [e.question for e in last2] == ["问题5", "问题6"]
    turns = history(store, "session-aaaa", max_exchanges=2)
    assert [(t.role, t.content) for t in turns] == [
        ("user", "问题5"),
        ("assistant", "回答5"),
        ("user", "问题6"),
        ("assistant", "回答6"),
    ]
    assert got[0].citations == [{"n": 1, "doc_id": "d1", "title": "护照", "url": ""}]


def test_unknown_session_is_none_and_sessions_are_separate(store: SessionStore) -> None:
    store.append(_ex("r1", sid="session-one1"))
    store.append(_ex("r2", sid="session-two2"))
    assert store.exchanges("session-nope") is None
    one = store.exchanges("session-one1")
    assert one is not None and [e.request_id for e in one] == ["r1"]


def test_personal_data_is_masked_before_storage(store: SessionStore) -> None:
    store.append(_ex("r1", q=f"我的手机{PHONE}，身份证{ID_CARD}", a=f"已记录{PHONE}"))
    store.add_feedback("r1", "down", f"打我电话{PHONE}")
    ex = (store.exchanges("session-aaaa") or [])[0]
    for text in (ex.question, ex.answer, (ex.feedback or {}).get("comment", "")):
        assert PHONE not in text and ID_CARD not in text
    assert "****" in ex.question


def test_feedback_attaches_to_the_exchange_and_unknown_ids_are_refused(store: SessionStore) -> None:
    store.append(_ex("r1"))
    assert store.add_feedback("r1", "up", "很好") is True
    assert store.add_feedback("r1", "down", "其实不对") is True  # replaces
    assert store.add_feedback("missing", "up") is False
    with pytest.raises(ValueError):
        store.add_feedback("r1", "meh")
    fb = (store.exchanges("session-aaaa") or [])[0].feedback
    assert fb is not None and fb["rating"] == "down" and fb["comment"] == "其实不对"


def test_delete_removes_the_session_and_its_feedback(store: SessionStore) -> None:
    store.append(_ex("r1"))
    store.append(_ex("r2", sid="session-keep"))
    store.add_feedback("r1", "up")
    assert store.delete("session-aaaa") is True
    assert store.exchanges("session-aaaa") is None
    assert store.add_feedback("r1", "up") is False
    assert store.delete("session-aaaa") is False
    assert store.exchanges("session-keep") is not None


def test_concurrent_appends_from_many_threads(store: SessionStore) -> None:
    def work(t: int) -> None:
        for i in range(25):
            store.append(_ex(f"t{t}-{i}", sid=f"session-{t:04d}"))
            store.exchanges(f"session-{t:04d}", limit=3)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(8):
        assert len(store.exchanges(f"session-{t:04d}") or []) == 25


def test_sqlite_sessions_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "sessions.sqlite3"
    first = sqlite_store(path)
    first.append(_ex("r1"))
    first.add_feedback("r1", "up")
    first.close()
    second = sqlite_store(path)
    got = second.exchanges("session-aaaa")
    assert got is not None and got[0].question == "怎么办护照" and (got[0].feedback or {})["rating"] == "up"
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    second.close()


def test_sqlite_delete_leaves_no_trace_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    store = sqlite_store(path)
    secret = "独一无二的敏感问题内容ZQXJ"
    store.append(_ex("r1", q=secret, a="回答ZQXJ"))
    store.append(_ex("r2", sid="session-other", q="别的会话"))
    store.delete("session-aaaa")
    store.close()
    raw = path.read_bytes() + (
        path.with_name(path.name + "-wal").read_bytes()
        if path.with_name(path.name + "-wal").exists()
        else b""
    )
    assert secret.encode() not in raw and "回答ZQXJ".encode() not in raw
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM exchanges WHERE session_id='session-aaaa'").fetchone()[0] == 0
    conn.execute("VACUUM")  # still a valid database after deletion
    assert conn.execute("SELECT count(*) FROM exchanges").fetchone()[0] == 1


@pytest.mark.parametrize(
    "name,kind", [("sql", SQLSessionStore), ("sqlite", SQLSessionStore), ("memory", MemorySessionStore)]
)
def test_registry_builds_the_named_store(tmp_path: Path, name: str, kind: Callable[..., object]) -> None:
    made = make_session_store(APISettings(session_store=name, session_db=tmp_path / "x.db"))
    assert isinstance(made, kind)  # type: ignore[arg-type]
    made.close()


def test_registry_refuses_unknown_store() -> None:
    with pytest.raises(ConfigError, match="unknown session store"):
        make_session_store(APISettings(session_store="redis-but-not-installed"))


def test_get_returns_one_exchange_with_its_feedback(store: SessionStore) -> None:
    store.append(_ex("r1", q=f"我的手机{PHONE}"))
    store.add_feedback("r1", "down", "不对")
    got = store.get("r1")
    assert got is not None and got.session_id == "session-aaaa" and PHONE not in got.question
    assert got.feedback is not None and got.feedback["rating"] == "down"
    assert store.get("missing") is None
    store.delete("session-aaaa")
    assert store.get("r1") is None
