"""Index-change notices between workers and replicas: Redis pub/sub, an in-memory fake, or none.

The process that wrote a new index generation (an ingest job, a rollback, ``python -m assistant
ingest``) publishes the generation's name; every API worker and replica runs an ``IndexWatcher``
that calls its index refresh when a notice arrives **and** every ``poll_s`` seconds. Notices only make
the switch fast: polling stays the fallback for a lost notice, a Redis outage or a replica that was
down, so no backend needs delivery guarantees. A replica that starts late loads the current
generation at warm-up like any other.

Backends by name (``NOTIFIERS``): ``redis`` (``redis://``, ``rediss://`` or ``unix://`` URLs, Valkey
too; chosen when ``redis_url`` is set), ``none`` (polling only; the default) and ``memory`` (one process, for tests).
``publish`` never raises: a notice that cannot be sent is logged, and the others find the new
generation by polling.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from .config import Settings

log = logging.getLogger("assistant.notify")

CHANNEL = "zhengwu:index"
REDIS_TIMEOUT_S = 2.0


class Listener(Protocol):
    """One subscription to index notices."""

    def wait(self, timeout: float) -> str | None:
        """The next generation name published, or None when ``timeout`` seconds pass without one."""
        ...

    def close(self) -> None:
        """Stop listening (idempotent)."""
        ...


class Notifier(Protocol):
    """Sends and receives index-change notices."""

    def publish(self, generation: str) -> bool:
        """Tell every listener that ``generation`` is current; False (logged) when it could not be sent."""
        ...

    def listen(self) -> Listener:
        """A new subscription; notices published after this call reach it."""
        ...


# --- none: polling only ---------------------------------------------------------------------------


class _SleepingListener:
    def __init__(self) -> None:
        self._closed = threading.Event()

    def wait(self, timeout: float) -> str | None:
        self._closed.wait(timeout)
        return None

    def close(self) -> None:
        self._closed.set()


class NullNotifier:
    """No notices: every process finds a new generation by polling."""

    def publish(self, generation: str) -> bool:
        return False

    def listen(self) -> Listener:
        return _SleepingListener()


# --- memory: one process, for tests ---------------------------------------------------------------


class _QueueListener:
    def __init__(self, bus: MemoryNotifier) -> None:
        self._bus = bus
        self.queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def wait(self, timeout: float) -> str | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._bus._drop(self)
        self.queue.put(None)  # wakes a waiting thread


class MemoryNotifier:
    """A deterministic in-process bus: every listener of this object gets every notice, in order."""

    def __init__(self) -> None:
        self._listeners: list[_QueueListener] = []
        self._lock = threading.Lock()
        self.published: list[str] = []

    def publish(self, generation: str) -> bool:
        with self._lock:
            self.published.append(generation)
            listeners = list(self._listeners)
        for listener in listeners:
            listener.queue.put(generation)
        return True

    def listen(self) -> Listener:
        listener = _QueueListener(self)
        with self._lock:
            self._listeners.append(listener)
        return listener

    def _drop(self, listener: _QueueListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)


# --- redis: pub/sub on one channel ----------------------------------------------------------------


class _RedisListener:
    """A pub/sub subscription that re-subscribes by itself after Redis comes back."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_S, health_check_interval=30
        )
        self._errors = (redis.RedisError, OSError)
        self._pubsub: redis.client.PubSub | None = None
        self._down = False
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._waiting = False

    def wait(self, timeout: float) -> str | None:
        with self._lock:
            self._waiting = True
        try:
            return self._wait(timeout)
        finally:
            with self._lock:
                self._waiting = False
                if self._closed.is_set():
                    self._release()

    def _wait(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while not self._closed.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                if self._pubsub is None:
                    pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                    pubsub.subscribe(CHANNEL)
                    self._pubsub = pubsub
                    if self._down:
                        self._down = False
                        log.warning('{"event": "index_notices_back", "channel": %r}', CHANNEL)
                message = self._pubsub.get_message(timeout=min(left, 1.0))
            except self._errors as exc:
                self._lost(exc)
                self._closed.wait(min(max(left, 0.0), 1.0))
                continue
            if message and message.get("type") == "message":
                data = message["data"]
                return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        return None

    def _lost(self, exc: Exception) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(*self._errors):
                self._pubsub.close()
            self._pubsub = None
        if not self._down:
            self._down = True
            log.warning(
                '{"event": "index_notices_down", "error": %r, "fallback": "polling"}',
                f"{type(exc).__name__}: {exc}",
            )

    def close(self) -> None:
        # A thread inside wait() owns the connection: it sees the flag within a second and releases it.
        with self._lock:
            self._closed.set()
            if not self._waiting:
                self._release()

    def _release(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(*self._errors):
                self._pubsub.close()
            self._pubsub = None
        self._client.close()


class RedisNotifier:
    """Notices on the Redis channel ``zhengwu:index`` (Valkey works the same)."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        self._errors = (redis.RedisError, OSError)

    def publish(self, generation: str) -> bool:
        try:
            receivers = self._client.publish(CHANNEL, generation)
        except self._errors as exc:
            log.warning(
                '{"event": "index_notice_not_sent", "generation": %r, "error": %r}',
                generation,
                f"{type(exc).__name__}: {exc}",
            )
            return False
        log.info('{"event": "index_notice_sent", "generation": %r, "receivers": %d}', generation, receivers)
        return True

    def listen(self) -> Listener:
        return _RedisListener(self.url)


NOTIFIERS: dict[str, Callable[[Settings], Notifier]] = {
    "none": lambda settings: NullNotifier(),
    "memory": lambda settings: MemoryNotifier(),
    "redis": lambda settings: RedisNotifier(settings.redis_url),
}


def notifier_name(settings: Settings) -> str:
    """``redis`` for a Redis/Valkey ``redis_url``, else ``none``."""
    scheme = settings.redis_url.split("://", 1)[0].lower() if settings.redis_url else ""
    return "redis" if scheme in ("redis", "rediss", "unix") else "none"


def make_notifier(settings: Settings) -> Notifier:
    return NOTIFIERS[notifier_name(settings)](settings)


class IndexWatcher:
    """A daemon thread that calls ``refresh()`` on every notice and whenever polling sees a new pointer.

    ``refresh`` is the worker's index refresh (``Assistant.refresh_index``): it loads the generation the
    pointer names when that is not the one in memory and returns whether it switched. ``current`` reads
    the pointer (one small read); every ``poll_s`` seconds the watcher compares it with the last one it
    saw and refreshes only when it moved, so a generation that fails to load is not retried every tick
    (the old one keeps serving; the next notice or pointer move tries again). One thread means
    refreshes never overlap; an exception in ``refresh`` is logged and the watcher carries on.
    """

    def __init__(
        self,
        notifier: Notifier,
        refresh: Callable[[], object],
        poll_s: float,
        current: Callable[[], str | None] | None = None,
    ) -> None:
        self._notifier = notifier
        self._refresh = refresh
        self._current = current
        self.poll_s = poll_s if poll_s > 0 else 3600.0
        self._listener: Listener | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0  # calls made (tests and logs)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._listener = self._notifier.listen()  # subscribed before start() returns: no notice lost
        self._thread = threading.Thread(target=self._run, name="index-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._listener is not None
        seen = self._current() if self._current is not None else None  # loaded at warm-up
        next_poll = time.monotonic() + self.poll_s
        while not self._stop.is_set():
            notice = self._listener.wait(max(0.0, next_poll - time.monotonic()))
            if self._stop.is_set():
                return
            if notice is None:
                if time.monotonic() < next_poll:
                    continue
                next_poll = time.monotonic() + self.poll_s
                if self._current is not None:
                    pointer = self._current()
                    if pointer == seen:
                        continue
                    seen = pointer
            elif self._current is not None:
                seen = self._current()
            self._call(notice)

    def _call(self, notice: str | None) -> None:
        self.refreshes += 1
        try:
            switched = self._refresh()
        except Exception as exc:  # a broken generation must not stop the watcher; the old one serves
            log.error(
                '{"event": "index_refresh_failed", "notice": %r, "error": %r}',
                notice,
                f"{type(exc).__name__}: {exc}",
            )
            return
        if notice is not None or switched:
            log.info('{"event": "index_refresh", "notice": %r, "switched": %s}', notice, bool(switched))

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
