"""Retention: the purge boundary on SQLite and PostgreSQL, one purge per interval across replicas,
the auditor export (masked, by period), the CLI, and the scheduled job in the app lifespan."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from assistant.cli import main as cli_main
from assistant.config import RetentionSettings
from assistant.sessions import Exchange
from assistant.storage import Database, sqlite_url
from assistant.storage.retention import DAY_S, export, purge, run_once

NOW = 2_000_000_000.0  # a fixed "now" well after every record the test writes with the real clock
PHONE = "13812345678"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = (
        sqlite_url(tmp_path / "s.db")
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    made = Database.open(url)
    yield made
    made.close()


def test_purge_deletes_exactly_what_is_older_than_the_period(db: Database) -> None:
    retention = RetentionSettings()  # 180 days
    cutoff = NOW - 180 * DAY_S
    for rid, at in (("old", cutoff - 1), ("edge", cutoff), ("new", cutoff + 1)):
        db.sessions.append(Exchange(rid, f"s-{rid}", "问题", "回答", created_at=at))
    db.sessions.add_feedback("old", "down")
    db.reviews.add("old", "wrong", reviewer="rv")
    closed = db.reports.create("old", "错误")
    db.reports.update(closed.tracking_number, actor="h", role="admin", status="处理中")
    db.reports.update(closed.tracking_number, actor="h", role="admin", status="已办结")
    still_open = db.reports.create("edge", "其他")
    db.audit.record("alice", "editor", "document.upload", "a.pdf")

    counts = purge(db, retention, now=NOW)

    assert counts["exchanges"] == 1 and counts["sessions"] == 1 and counts["feedback"] == 1
    assert (
        counts["reviews"] == 1 and counts["reports"] == 1 and counts["audit"] == 3
    )  # 2 report steps + upload
    assert db.sessions.session_of("old") is None and db.sessions.owner("s-old") is None
    assert db.sessions.session_of("edge") == "s-edge" and db.sessions.session_of("new") == "s-new"  # kept
    assert db.reports.get(closed.tracking_number) is None
    assert db.reports.get(still_open.tracking_number) is not None  # open reports wait to be handled
    assert db.reviews.list() == []
    [entry] = db.audit.list()  # only the purge's own entry is left
    assert entry.action == "retention.purge" and entry.after["exchanges"] == 1 and entry.after["days"] == 180


def test_purge_at_the_real_time_keeps_recent_records(db: Database) -> None:
    db.sessions.append(Exchange("r1", "s1", "问题", "回答"))
    db.audit.record("alice", "editor", "x")
    counts = purge(db, RetentionSettings())
    assert sum(counts.values()) == 0 and db.sessions.session_of("r1") == "s1"


def test_only_one_replica_purges_per_interval(db: Database) -> None:
    retention = RetentionSettings(interval_minutes=60)
    assert run_once(db, retention, holder="replica-a") is not None
    assert run_once(db, retention, holder="replica-b") is None  # a holds the lease for the interval
    assert len(db.audit.list(action="retention.purge")) == 1


def test_retention_below_the_minimum_is_refused_unless_the_minimum_is_lowered() -> None:
    with pytest.raises(ValidationError, match="minimum_days"):
        RetentionSettings(days=30)
    assert RetentionSettings(days=30, minimum_days=30).days == 30


def test_export_writes_the_period_masked_and_is_audited(tmp_path: Path) -> None:
    db = Database.open(sqlite_url(tmp_path / "s.db"))
    db.sessions.append(Exchange("early", "s1", "问题一", "回答", created_at=1_000.0))
    db.sessions.append(Exchange("inside", "s1", f"电话{PHONE}", "回答", created_at=5_000.0))
    db.sessions.add_feedback("inside", "up", "很好")
    db.audit.record("alice", "editor", "curated.update", "1", {"answer": f"联系{PHONE}"}, None)
    db.reports.create("inside", "错误", "有错")
    out = tmp_path / "export" / "audit.jsonl"
    counts = export(db, out, since=2_000.0)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert counts == {"exchange": 1, "report": 1, "audit": 1}
    assert [r["type"] for r in lines] == ["exchange", "report", "audit"]
    assert lines[0]["request_id"] == "inside" and lines[0]["feedback"]["rating"] == "up"
    assert PHONE not in out.read_text(encoding="utf-8")  # masked, audit snapshots included
    assert db.audit.list(action="retention.export")[0].after["exchange"] == 1
    none = export(db, tmp_path / "none.jsonl", since=1.0, until=2.0)
    assert none == {"exchange": 0, "report": 0, "audit": 0}
    db.close()


def test_cli_purges_and_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.sqlite3"
    monkeypatch.setenv("ASSISTANT_API__SESSION_DB", str(path))
    db = Database.open(sqlite_url(path))
    db.sessions.append(Exchange("ancient", "s1", "问题", "回答", created_at=1_000.0))
    db.sessions.append(Exchange("recent", "s2", "问题", "回答"))
    db.close()
    out = tmp_path / "out.jsonl"
    assert cli_main(["retention", "export", "--out", str(out), "--until", "2000-01-01"]) == 0
    assert [json.loads(x)["request_id"] for x in out.read_text().splitlines() if '"exchange"' in x] == [
        "ancient"
    ]
    assert cli_main(["retention", "purge"]) == 0
    assert '"exchanges": 1' in capsys.readouterr().out
    db = Database.open(sqlite_url(path))
    assert db.sessions.session_of("ancient") is None and db.sessions.session_of("recent") == "s2"
    db.close()
    assert cli_main(["retention", "export", "--out", str(out), "--since", "not-a-date"]) == 2


def test_the_app_runs_the_purge_on_its_schedule(api_assistant: object, tmp_path: Path) -> None:
    from _api_support import api_settings

    from assistant.api import create_app

    settings = api_settings(tmp_path)
    settings.retention.interval_minutes = 0.005  # first run after 0.3 s, then every 0.3 s
    with TestClient(create_app(settings, api_assistant)) as client:  # type: ignore[arg-type]
        db: Database = client.app.state.db  # type: ignore[attr-defined]
        deadline = time.time() + 15
        while time.time() < deadline and len(db.audit.list(action="retention.purge")) < 2:
            time.sleep(0.05)
        assert len(db.audit.list(action="retention.purge")) >= 2  # it ran, and ran again
    quiet = api_settings(tmp_path / "quiet")  # the default interval: nothing within the test
    with TestClient(create_app(quiet, api_assistant)) as client:  # type: ignore[arg-type]
        time.sleep(0.5)
        assert client.app.state.db.audit.list(action="retention.purge") == []  # type: ignore[attr-defined]
