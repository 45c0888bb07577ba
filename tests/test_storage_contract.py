"""The storage contract, run against SQLite and a real PostgreSQL server (tests/_postgres.py).

Covers the schema upgrade (empty database, idempotent, concurrent starts, models == migrations),
persistence across ``Database`` objects, the append-only audit log, the report workflow, the
key/value state's compare-and-set, and each repository's round trip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from assistant.errors import ConflictError, InvalidInputError, NotFoundError, StorageError
from assistant.sessions import Exchange
from assistant.storage import Database, make_engine, sqlite_url, upgrade
from assistant.storage.audit import AuditLog
from assistant.storage.migrate import current_revision, head_revision
from assistant.storage.models import Base

TABLES = {
    "sessions",
    "exchanges",
    "feedback",
    "reviews",
    "curated_answers",
    "document_versions",
    "jobs",
    "audit_log",
    "reports",
    "kv_state",
}
ID_CARD = "11010519491231002X"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "state.sqlite3")
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    made = Database.open(url)
    yield made
    made.close()


def _ex(rid: str, sid: str = "s1", **kw: object) -> Exchange:
    return Exchange(rid, sid, f"问题{rid}", f"回答{rid}[1]", answered_by="extractive", **kw)  # type: ignore[arg-type]


# --- schema ---------------------------------------------------------------------------------------


def test_an_empty_database_is_upgraded_to_every_table(url: str) -> None:
    engine = make_engine(url)
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_models_and_migrations_describe_the_same_schema(db: Database) -> None:
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diffs == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(url: str) -> None:
    from alembic import command

    from assistant.storage.migrate import alembic_config

    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "base")
        conn.commit()
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_replicas_starting_together_do_not_race_on_the_upgrade(url: str) -> None:
    # separate processes, like replicas (Alembic's context is process-global, so threads would not do)
    code = (
        "import sys, time; from assistant.storage import make_engine, upgrade;"
        "e = make_engine(sys.argv[1]); time.sleep(max(0.0, float(sys.argv[2]) - time.time())); upgrade(e)"
    )
    start_at = str(time.time() + 4.0)  # every process has imported by then; they upgrade together
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, start_at], env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs if p.wait(timeout=120) != 0]
    assert errors == []
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_an_unreachable_database_is_a_storage_error() -> None:
    with pytest.raises(StorageError):
        Database.open("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


# --- sessions, exchanges, feedback --------------------------------------------------------------


def test_exchanges_and_feedback_survive_a_new_database_object(url: str) -> None:
    first = Database.open(url)
    hits = [{"doc_id": "d1", "title": "护照", "score": 0.83}]
    meta = {"intent": "question", "moderation": {"flagged": False, "categories": []}}
    first.sessions.create("s1", "key-a")
    first.sessions.append(
        _ex("r1", channel="kiosk", confidence=0.71, department="出入境管理局", hits=hits, meta=meta)
    )
    assert first.sessions.add_feedback("r1", "down", f"身份证{ID_CARD}")
    first.close()

    second = Database.open(url)
    got = second.sessions.exchanges("s1")
    assert got is not None and len(got) == 1
    ex = got[0]
    assert (ex.channel, ex.confidence, ex.department) == ("kiosk", 0.71, "出入境管理局")
    assert ex.hits == hits and ex.meta == meta
    assert ex.feedback is not None and ex.feedback["rating"] == "down"
    assert ID_CARD not in ex.feedback["comment"]  # masked before it was written
    assert second.sessions.owner("s1") == "key-a" and second.sessions.session_of("r1") == "s1"
    second.close()


def test_two_database_objects_see_each_others_writes(url: str) -> None:
    a, b = Database.open(url), Database.open(url)
    a.sessions.append(_ex("r1"))
    assert b.sessions.session_of("r1") == "s1"
    b.sessions.append(_ex("r2"))
    assert [e.request_id for e in a.sessions.exchanges("s1") or []] == ["r1", "r2"]
    b.audit.record("alice", "admin", "curated.create", "1")
    assert [e.actor for e in a.audit.list()] == ["alice"]
    a.state.set("index.generation", "g-2")
    assert b.state.value("index.generation") == "g-2"
    with pytest.raises(ConflictError):
        b.sessions.append(_ex("r1", sid="s2"))  # an exchange is never replaced, whoever writes
    a.close()
    b.close()


def test_deleting_a_session_removes_its_exchanges_and_feedback(db: Database) -> None:
    db.sessions.append(_ex("r1"))
    db.sessions.append(_ex("r2", sid="other"))
    db.sessions.add_feedback("r1", "up")
    assert db.sessions.delete("s1") and not db.sessions.delete("s1")
    assert db.sessions.exchanges("s1") is None and db.sessions.session_of("r1") is None
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM feedback")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM exchanges")).scalar() == 1


def test_parallel_appends_from_many_threads(db: Database) -> None:
    def work(t: int) -> None:
        for i in range(10):
            db.sessions.append(_ex(f"r{t}-{i}", sid=f"s{t}"))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(len(db.sessions.exchanges(f"s{t}") or []) == 10 for t in range(6))


# --- audit -------------------------------------------------------------------------------------------


def test_audit_log_is_append_only_and_filterable(db: Database) -> None:
    db.audit.record("alice", "editor", "document.upload", "a.pdf", None, {"version": 1})
    db.audit.record("bob", "reviewer", "review.add", "r1", None, {"verdict": "wrong"})
    db.audit.record("alice", "editor", "document.delete", "a.pdf", {"version": 1}, None)
    assert [e.action for e in db.audit.list(actor="alice")] == ["document.delete", "document.upload"]
    assert [e.actor for e in db.audit.list(action="review.add")] == ["bob"]
    assert db.audit.list(target="a.pdf")[0].before == {"version": 1}
    assert db.audit.list(since=time.time() + 60) == []
    # the repository offers no way to change history ...
    assert not any(name.startswith(("update", "delete", "purge", "set")) for name in dir(AuditLog))
    # ... and the database refuses an UPDATE issued around it
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory'"))
    assert {e.actor for e in db.audit.list()} == {"alice", "bob"}


# --- reports -----------------------------------------------------------------------------------------


def test_report_workflow_one_step_at_a_time_and_audited(db: Database) -> None:
    report = db.reports.create("r1", "过时", f"我的身份证{ID_CARD}", deadline_days=15)
    assert report.status == "待处理" and ID_CARD not in report.note
    assert abs(report.deadline - report.created_at - 15 * 86400) < 1
    assert report.tracking_number[:8] == time.strftime("%Y%m%d", time.gmtime(report.created_at))
    with pytest.raises(ConflictError):
        db.reports.update(report.tracking_number, actor="h", role="admin", status="已办结")  # skips a step
    moved = db.reports.update(report.tracking_number, actor="h", role="admin", status="处理中")
    done = db.reports.update(
        report.tracking_number, actor="h", role="admin", status="已办结", handler_note="已更新"
    )
    assert (moved.status, done.status, done.handler_note) == ("处理中", "已办结", "已更新")
    assert [h["status"] for h in done.history] == ["待处理", "处理中", "已办结"]
    with pytest.raises(ConflictError):
        db.reports.update(report.tracking_number, actor="h", role="admin", status="处理中")  # no way back
    entries = db.audit.list(action="report.update", target=report.tracking_number)
    assert [(e.before["status"], e.after["status"]) for e in reversed(entries)] == [
        ("待处理", "处理中"),
        ("处理中", "已办结"),
    ]
    with pytest.raises(NotFoundError):
        db.reports.update("20260101-0000000000", actor="h", role="admin", status="处理中")
    with pytest.raises(InvalidInputError):
        db.reports.create("r1", "不喜欢")


def test_overdue_reports_are_found_and_finished_ones_never_are(db: Database) -> None:
    late = db.reports.create("r1", "错误", deadline_days=1)
    fresh = db.reports.create("r2", "其他", deadline_days=15)
    closed = db.reports.create("r3", "错误", deadline_days=1)
    for status in ("处理中", "已办结"):
        db.reports.update(closed.tracking_number, actor="h", role="admin", status=status)
    later = time.time() + 2 * 86400
    overdue = db.reports.list(overdue=True, now=later)
    assert [r.tracking_number for r in overdue] == [late.tracking_number]
    assert overdue[0].overdue(later) and not fresh.overdue(later)
    assert {r.tracking_number for r in db.reports.list(overdue=False, now=later)} == {
        fresh.tracking_number,
        closed.tracking_number,
    }
    assert [r.tracking_number for r in db.reports.list(status="已办结")] == [closed.tracking_number]
    numbers = {db.reports.create("r9", "其他").tracking_number for _ in range(20)}
    assert len(numbers) == 20  # random part: no two alike


# --- state, documents, jobs, curated, reviews --------------------------------------------------------


def test_state_compare_and_set_counters_and_leases(db: Database) -> None:
    first = db.state.set("index.generation", "g1", expected_version=0)
    with pytest.raises(ConflictError):
        db.state.set("index.generation", "g-other", expected_version=0)  # exists already
    second = db.state.set("index.generation", "g2", expected_version=first.version)
    with pytest.raises(ConflictError):
        db.state.set("index.generation", "g3", expected_version=first.version)  # lost update refused
    assert (second.version, db.state.value("index.generation")) == (2, "g2")
    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(db.state.bump("changes"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts) == list(range(1, 9)) and db.state.value("changes") == 8
    assert db.state.acquire_lease("purge", "replica-a", 60)
    assert not db.state.acquire_lease("purge", "replica-b", 60)
    db.state.release_lease("purge", "replica-a")
    assert db.state.acquire_lease("purge", "replica-b", 60)


def test_document_versions_keep_content_for_restore(db: Database) -> None:
    v1 = db.documents.add("policy/a.md", "upload", actor="ed", content=b"# v1", filename="a.md")
    v2 = db.documents.add("policy/a.md", "update", actor="ed", content=b"# v2", metadata={"title": "A"})
    db.documents.add("policy/b.md", "upload", actor="ed", content=b"b")
    assert (v1.version, v2.version) == (1, 2) and v1.content is None  # listings carry no bytes
    old = db.documents.get("policy/a.md", 1)
    assert old is not None and old.content == b"# v1" and len(old.sha256) == 64
    assert [v.version for v in db.documents.history("policy/a.md")] == [2, 1]
    latest = db.documents.latest("policy/a.md")
    assert latest is not None and latest.metadata == {"title": "A"} and latest.content == b"# v2"
    assert [(d.document_id, d.version) for d in db.documents.documents()] == [
        ("policy/a.md", 2),
        ("policy/b.md", 1),
    ]


def test_job_lifecycle(db: Database) -> None:
    job = db.jobs.create("ingest", actor="ed")
    assert db.jobs.start(job.id).status == "running"
    with pytest.raises(ConflictError):
        db.jobs.start(job.id)  # a second worker cannot take it
    db.jobs.progress(job.id, 0.5, "embedding")
    done = db.jobs.finish(job.id, result={"added": 3})
    assert (done.status, done.progress, done.result) == ("done", 1.0, {"added": 3})
    assert done.finished_at is not None and done.started_at is not None
    assert [j.id for j in db.jobs.list(status="done")] == [job.id]
    with pytest.raises(NotFoundError):
        db.jobs.start("missing")


def test_curated_answers_and_reviews_round_trip(db: Database) -> None:
    c = db.curated.create(["护照怎么办", "办护照"], "带身份证到出入境窗口。", actor="ed", sources=["doc-1"])
    changed = db.curated.update(c.id, actor="rv", status="published", valid_to="2027-12-31")
    assert (changed.status, changed.valid_to, changed.updated_by, changed.created_by) == (
        "published",
        "2027-12-31",
        "rv",
        "ed",
    )
    assert [x.id for x in db.curated.list(status="published")] == [c.id]
    with pytest.raises(ValueError):
        db.curated.update(c.id, actor="rv", created_by="mallory")
    assert db.curated.delete(c.id) and db.curated.get(c.id) is None
    review = db.reviews.add("r1", "needs_curated", reviewer="rv", note="电话13812345678")
    assert "13812345678" not in review.note
    assert [r.verdict for r in db.reviews.list(request_id="r1")] == ["needs_curated"]
    with pytest.raises(InvalidInputError):
        db.reviews.add("r1", "meh", reviewer="rv")


# --- a file from the earlier sqlite3 session store ---------------------------------------------------

LEGACY_SCHEMA = """
CREATE TABLE exchanges (request_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, created_at REAL NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, answered_by TEXT NOT NULL DEFAULT '',
    handoff TEXT NOT NULL DEFAULT '', citations TEXT NOT NULL DEFAULT '[]');
CREATE INDEX exchanges_session ON exchanges(session_id, created_at);
CREATE TABLE sessions (session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created_at REAL NOT NULL,
    last_active REAL NOT NULL);
CREATE INDEX sessions_idle ON sessions(last_active);
CREATE TABLE feedback (request_id TEXT PRIMARY KEY REFERENCES exchanges(request_id) ON DELETE CASCADE,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')), comment TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL);
"""


def test_a_file_of_the_old_sqlite3_store_is_adopted_with_its_conversations(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "sessions.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(LEGACY_SCHEMA)
    now = time.time()
    old.execute("INSERT INTO sessions VALUES ('s1', 'key-a', ?, ?)", (now, now))
    cites = '[{"n": 1, "doc_id": "d1", "title": "护照", "url": ""}]'
    for rid in ("r2", "r1", "r3"):  # insertion order, not id order, is the conversation's order
        old.execute(
            "INSERT INTO exchanges VALUES (?, 's1', ?, ?, '回答', 'extractive', '', ?)",
            (rid, now, f"问{rid}", cites),
        )
    old.execute("INSERT INTO feedback VALUES ('r1', 'down', '不对', ?)", (now,))
    old.commit()
    old.close()

    db = Database.open(sqlite_url(path))
    got = db.sessions.exchanges("s1")
    assert got is not None and [e.request_id for e in got] == ["r2", "r1", "r3"]
    assert got[0].citations[0]["doc_id"] == "d1" and got[1].feedback is not None
    assert db.sessions.owner("s1") == "key-a"
    db.sessions.append(_ex("r4", sid="s1"))  # and the new columns work on it
    assert not {t for t in inspect(db.engine).get_table_names() if t.startswith("legacy_")}
    db.close()
    again = Database.open(sqlite_url(path))  # a second start changes nothing
    assert [e.request_id for e in again.sessions.exchanges("s1") or []] == ["r2", "r1", "r3", "r4"]
    again.close()
