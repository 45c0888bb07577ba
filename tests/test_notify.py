"""Index-change notices: one contract for the in-memory fake and real Redis pub/sub, the watcher that
turns notices (and polling) into refreshes, and what happens when Redis is away."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.notify import (
    IndexWatcher,
    MemoryNotifier,
    Notifier,
    NullNotifier,
    RedisNotifier,
    make_notifier,
    notifier_name,
)


@pytest.fixture(params=["memory", "redis"])
def notifier(request: pytest.FixtureRequest) -> Notifier:
    if request.param == "memory":
        return MemoryNotifier()
    return RedisNotifier(str(request.getfixturevalue("redis_url")))


def test_every_listener_gets_every_notice_in_order(notifier: Notifier) -> None:
    a, b = notifier.listen(), notifier.listen()
    try:
        assert a.wait(0.2) is None  # nothing yet (and the Redis subscription is made meanwhile)
        assert b.wait(0.2) is None
        assert notifier.publish("gen-1") and notifier.publish("gen-2")
        assert [a.wait(5), a.wait(5)] == ["gen-1", "gen-2"]
        assert [b.wait(5), b.wait(5)] == ["gen-1", "gen-2"]
        assert a.wait(0.1) is None
    finally:
        a.close()
        b.close()


def test_a_closed_listener_gets_nothing_and_wakes_its_waiter(notifier: Notifier) -> None:
    listener = notifier.listen()
    listener.wait(0.2)
    got: list[str | None] = []
    waiter = threading.Thread(target=lambda: got.append(listener.wait(30)))
    waiter.start()
    time.sleep(0.1)
    started = time.monotonic()
    listener.close()
    waiter.join(5)
    assert not waiter.is_alive() and time.monotonic() - started < 3
    notifier.publish("gen-9")
    assert got == [None]  # woken without a notice


def test_null_notifier_sends_nothing_and_only_sleeps() -> None:
    n = NullNotifier()
    listener = n.listen()
    assert n.publish("gen-1") is False
    started = time.monotonic()
    assert listener.wait(0.2) is None and time.monotonic() - started >= 0.19


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_publish_with_redis_down_returns_false_without_raising(caplog: pytest.LogCaptureFixture) -> None:
    n = RedisNotifier(f"redis://127.0.0.1:{_closed_port()}/0")
    with caplog.at_level("WARNING", logger="assistant.notify"):
        assert n.publish("gen-1") is False
    assert any("index_notice_not_sent" in r.getMessage() for r in caplog.records)


def test_redis_listener_resubscribes_after_a_restart(tmp_path: Path) -> None:
    from _redis import RedisServer, redis_server_binary

    binary = redis_server_binary()
    if binary is None:
        pytest.skip("redis-server is not installed (make redis)")
    server = RedisServer(binary, tmp_path)
    listener = RedisNotifier(server.url).listen()
    try:
        assert listener.wait(0.3) is None
        server.stop()
        assert listener.wait(1.5) is None  # down: waits out its timeout, no exception
        server = RedisServer(binary, tmp_path, port=server.port)
        deadline = time.monotonic() + 10
        got = None
        while got is None and time.monotonic() < deadline:  # resubscribed on its own, then hears again
            RedisNotifier(server.url).publish("gen-after-restart")
            got = listener.wait(0.5)
        assert got == "gen-after-restart"
    finally:
        listener.close()
        server.stop()


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("", "none"),
        ("redis://127.0.0.1:6379/0", "redis"),
        ("rediss://h:6380", "redis"),
        ("unix:///run/r.sock", "redis"),
    ],
)
def test_backend_follows_redis_url(url: str, name: str) -> None:
    settings = Settings(redis_url=url)
    assert notifier_name(settings) == name
    assert type(make_notifier(settings)).__name__ == {"none": "NullNotifier", "redis": "RedisNotifier"}[name]


# --- the watcher ----------------------------------------------------------------------------------


class Refresher:
    """Stands in for ``Assistant.refresh_index``: records calls, can fail on demand."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.fail = False
        self.called = threading.Event()

    def __call__(self) -> bool:
        self.calls.append(time.monotonic())
        self.called.set()
        if self.fail:
            raise RuntimeError("broken generation")
        return True


def _watch(notifier: Notifier, poll_s: float) -> tuple[IndexWatcher, Refresher]:
    refresher = Refresher()
    watcher = IndexWatcher(notifier, refresher, poll_s)
    watcher.start()
    return watcher, refresher


def test_a_notice_refreshes_at_once(notifier: Notifier) -> None:
    watcher, refresher = _watch(notifier, poll_s=600)
    try:
        time.sleep(0.3)  # the Redis subscription is live
        assert refresher.calls == []
        sent = time.monotonic()
        notifier.publish("gen-2")
        assert refresher.called.wait(5)
        assert refresher.calls[0] - sent < 2.0 and len(refresher.calls) == 1
    finally:
        watcher.stop()


def test_polling_refreshes_without_notices() -> None:
    watcher, refresher = _watch(NullNotifier(), poll_s=0.2)
    time.sleep(1.1)
    watcher.stop()
    assert 3 <= len(refresher.calls) <= 7


def test_polling_refreshes_only_when_the_pointer_moves() -> None:
    pointer = ["gen-1"]
    refresher = Refresher()
    refresher.fail = True  # a broken generation: tried once per pointer move, not every tick
    watcher = IndexWatcher(NullNotifier(), refresher, poll_s=0.1, current=lambda: pointer[0])
    watcher.start()
    time.sleep(0.5)
    assert refresher.calls == []  # the pointer names what warm-up loaded
    pointer[0] = "gen-2"
    time.sleep(0.5)
    assert len(refresher.calls) == 1
    pointer[0] = "gen-3"
    time.sleep(0.5)
    watcher.stop()
    assert len(refresher.calls) == 2


def test_a_failing_refresh_does_not_stop_the_watcher(caplog: pytest.LogCaptureFixture) -> None:
    notifier = MemoryNotifier()
    watcher, refresher = _watch(notifier, poll_s=600)
    refresher.fail = True
    with caplog.at_level("ERROR", logger="assistant.notify"):
        notifier.publish("gen-bad")
        assert refresher.called.wait(5)
        refresher.called.clear()
        refresher.fail = False
        notifier.publish("gen-good")
        assert refresher.called.wait(5)
    watcher.stop()
    assert len(refresher.calls) == 2
    assert any("index_refresh_failed" in r.getMessage() for r in caplog.records)


def test_stop_returns_promptly() -> None:
    watcher, _ = _watch(MemoryNotifier(), poll_s=600)
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 2


# --- wired into the app ---------------------------------------------------------------------------


def test_app_lifespan_runs_the_watcher_over_its_assistant(
    api_assistant: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    """An app with ``redis_url`` refreshes its index when another process publishes a generation."""
    from _api_support import api_settings
    from fastapi.testclient import TestClient

    from assistant.api import create_app

    refresher = Refresher()
    monkeypatch.setattr(api_assistant, "refresh_index", refresher)
    settings = api_settings(tmp_path).model_copy(update={"redis_url": redis_url})
    settings.admin.poll_interval_s = 600  # only a notice can trigger the refresh within the test
    app = create_app(settings, api_assistant)  # type: ignore[arg-type]
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        time.sleep(0.3)  # the watcher's subscription is live
        assert RedisNotifier(redis_url).publish("gen-7")  # e.g. python -m assistant ingest elsewhere
        assert refresher.called.wait(5)
        thread = app.state.index_watcher._thread
        assert thread is not None and thread.is_alive()
    assert not thread.is_alive()  # stopped with the app


def test_cli_ingest_announces_the_new_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    from conftest import MINI_KNOWLEDGE

    from assistant.cli import main
    from assistant.index.store import current_generation_name

    env = {
        "ASSISTANT_KNOWLEDGE_DIR": str(MINI_KNOWLEDGE),
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_CACHE_DIR": str(tmp_path / "cache"),
        "ASSISTANT_EMBEDDER__NAME": "hash",
        "ASSISTANT_API__SESSION_DB": str(tmp_path / "state.sqlite3"),
        "ASSISTANT_REDIS_URL": redis_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    listener = RedisNotifier(redis_url).listen()
    try:
        assert listener.wait(0.3) is None
        assert main(["ingest", "--quiet"]) == 0
        generation = current_generation_name(tmp_path / "index")
        assert generation and listener.wait(5) == generation
        assert main(["ingest", "--quiet"]) == 0  # nothing changed: nothing written, nothing announced
        assert listener.wait(0.5) is None
    finally:
        listener.close()
