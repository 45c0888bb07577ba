"""Notice a moved ``CURRENT`` pointer: a daemon thread per serving process that calls a refresh.

Each server process (``serve.py --workers N`` starts N) runs one ``PointerWatcher``: every
``interval`` seconds it reads the pointer (one small file read) and, when it names another
generation than last seen, calls ``on_change`` (``Assistant.refresh_index``) in its own thread —
off the request path. A generation that fails to load is logged once and not retried until the
pointer moves again; the old generation keeps serving meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from .store import current_generation_name

log = logging.getLogger(__name__)


class PointerWatcher:
    def __init__(self, index_dir: Path, on_change: Callable[[], object], interval: float = 1.0) -> None:
        self.index_dir = Path(index_dir)
        self.on_change = on_change
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="index-pointer-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        seen: str | None = None  # the first tick refreshes (a no-op when nothing moved since warm-up)
        while not self._stop.wait(self.interval):
            name = current_generation_name(self.index_dir)
            if name == seen:
                continue
            seen = name  # also when loading fails: retried when the pointer moves again
            try:
                self.on_change()
            except Exception as exc:  # a broken generation must not stop the old one serving
                log.error('{"event": "index_swap_failed", "generation": "%s", "error": %r}', name, str(exc))
