"""Rate limits on the ``limits`` package: moving windows in-process and in a real Redis, shared by apps,
and failing open to in-process limits when Redis is down."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _api_support import api_settings
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.api.ratelimit import RateLimiter


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    """``""`` (in-process) or the URL of the session's real Redis."""
    return "" if request.param == "memory" else str(request.getfixturevalue("redis_url"))


def test_window_refuses_past_the_limit_then_admits_again(storage: str) -> None:
    limiter = RateLimiter(3, storage, window_s=1)  # 3 per second, same code path as 3 per minute
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("k")
    assert 0 < wait <= 1.0
    assert limiter.take("other") == 0.0  # keys are independent
    time.sleep(wait + 0.05)
    assert limiter.take("k") == 0.0


def test_factor_scales_the_limit(storage: str) -> None:
    limiter = RateLimiter(2, storage)
    assert all(limiter.take("widget", factor=3) == 0.0 for _ in range(6))
    assert limiter.take("widget", factor=3) > 0
    assert limiter.take("kiosk") == 0.0 and limiter.take("kiosk") == 0.0 and limiter.take("kiosk") > 0


def test_zero_disables_limiting(storage: str) -> None:
    limiter = RateLimiter(0, storage)
    assert all(limiter.take("k") == 0.0 for _ in range(500))


def test_moving_window_is_exact_across_a_window_boundary() -> None:
    # a fixed window would let 2×N through around a boundary; the moving window never does
    limiter = RateLimiter(4, window_s=1)
    admitted = 0
    started = time.monotonic()
    while time.monotonic() - started < 0.9:
        admitted += limiter.take("k") == 0.0
        time.sleep(0.01)
    assert admitted == 4


def test_in_process_sweep_is_rare_and_frees_expired_windows() -> None:
    from limits import RateLimitItemPerSecond
    from limits.strategies import MovingWindowRateLimiter

    from assistant.api.ratelimit import SweepingMemoryStorage

    storage = SweepingMemoryStorage(sweep_s=0.5)
    limiter = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerSecond(5, 1)
    started = time.monotonic()
    while time.monotonic() - started < 1.2:  # busy traffic over many keys
        for i in range(200):
            limiter.hit(item, f"ip:{i}")
        time.sleep(0.01)
    assert 2 <= storage.sweeps <= 4  # every 0.5 s, not 100 times a second
    time.sleep(1.1)  # every window has expired
    limiter.hit(item, "late")  # a write schedules the next sweep
    deadline = time.monotonic() + 3
    while sum(1 for events in storage.events.values() if events) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        limiter.hit(item, "late")
    assert sum(1 for events in storage.events.values() if events) == 1  # only "late" holds entries


def test_redis_limit_is_shared_between_limiters(redis_url: str) -> None:
    """Two limiters (two workers or replicas) on one Redis count in the same window."""
    a, b = RateLimiter(5, redis_url), RateLimiter(5, redis_url)
    results = [(a if i % 2 else b).take("ip:203.0.113.7") for i in range(8)]
    assert results[:5] == [0.0] * 5 and all(w > 0 for w in results[5:])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


def test_redis_down_fails_open_to_in_process_limits(caplog: pytest.LogCaptureFixture) -> None:
    errors: list[int] = []
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    limiter = RateLimiter(2, url, retry_s=60, on_storage_error=lambda: errors.append(1))
    with caplog.at_level("WARNING", logger="assistant.api"):
        assert limiter.take("k") == 0.0  # answered although Redis is unreachable
        assert limiter.take("k") == 0.0
        assert limiter.take("k") > 0  # … and this process's own window still holds
    assert limiter.degraded and errors == [1]  # one failed call, then Redis is left alone for retry_s
    assert sum("rate_limit_storage_down" in r.getMessage() for r in caplog.records) == 1


def test_limiter_returns_to_redis_when_it_is_back(tmp_path: Path) -> None:
    from _redis import RedisServer, redis_server_binary

    binary = redis_server_binary()
    if binary is None:
        pytest.skip("redis-server is not installed (make redis)")
    server = RedisServer(binary, tmp_path)
    limiter = RateLimiter(5, server.url, retry_s=0.0)
    try:
        assert limiter.take("k") == 0.0 and not limiter.degraded
        server.stop()
        assert limiter.take("k") == 0.0 and limiter.degraded  # answered from the in-process window
        server = RedisServer(binary, tmp_path, port=server.port)  # back, empty (no persistence)
        assert limiter.take("k") == 0.0 and not limiter.degraded
        other = RateLimiter(5, server.url)
        assert [other.take("k") for _ in range(4)] == [0.0] * 4 and other.take("k") > 0  # shared again
    finally:
        server.stop()


# --- through the app ------------------------------------------------------------------------------


@pytest.fixture
def make_client(api_assistant: object, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(redis_url: str, **api: object) -> TestClient:
        settings = api_settings(tmp_path / f"app{len(clients)}", **api).model_copy(
            update={"redis_url": redis_url}
        )
        client = TestClient(create_app(settings, api_assistant), raise_server_exceptions=False)  # type: ignore[arg-type]
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_two_apps_on_one_redis_share_the_per_ip_limit(
    make_client: Callable[..., TestClient], redis_url: str
) -> None:
    first, second = (
        make_client(redis_url, rate_limit_per_minute=4),
        make_client(redis_url, rate_limit_per_minute=4),
    )
    codes = [(first if i % 2 else second).get("/v1/models").status_code for i in range(7)]
    assert codes[:4] == [200] * 4 and codes[4:] == [429] * 3, codes
    r = first.get("/v1/models")
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    assert 'zhengwu_rate_limited_total{scope="ip"}' in first.get("/metrics").text


def test_app_with_redis_down_keeps_answering(make_client: Callable[..., TestClient]) -> None:
    client = make_client(f"redis://127.0.0.1:{_closed_port()}/0", rate_limit_per_minute=3)
    codes = [client.get("/v1/models").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # fails open to in-process limits, not to no limits
    metrics = client.get("/metrics").text
    assert "zhengwu_rate_limit_storage_errors_total 1.0" in metrics
