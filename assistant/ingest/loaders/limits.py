"""Resource limits for knowledge files: size, nesting depth, YAML aliases and time per file.

A knowledge folder is trusted for content, not for shape: one fuzzed or hostile file must not take
the whole ingest down (a 307-byte YAML alias bomb expands to hundreds of MB; 8,000 nested ``<div>``
made the HTML main-content finder quadratic). Each limit raises ``LoaderError`` naming the file, so
``iter_knowledge`` skips it and goes on.

Shortcut: the time limit uses ``SIGALRM``, so it only applies on the main thread of a Unix process
(the CLI and ``make index``); elsewhere a file runs unbounded but the size and depth caps still hold.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ...errors import LoaderError

MAX_FILE_BYTES = 64 * 1024 * 1024  # scanned PDFs and spreadsheets can be large; text rarely is
MAX_DEPTH = 200  # nesting of JSON/YAML values and HTML elements; real files stay under ~30
MAX_NODES = 500_000  # values in one JSON/YAML file, aliases expanded (the starter KB's largest: ~40k)
MAX_YAML_ALIASES = 100  # anchors are fine; a bomb needs thousands of expansions
MAX_SECONDS_PER_FILE = 300.0  # OCR stops taking pages at its own, smaller budget (ocr.py)


def check_size(path: Path, limit: int | None = None) -> None:
    """Refuse files larger than ``limit`` bytes (default ``MAX_FILE_BYTES``) before reading them."""
    limit = MAX_FILE_BYTES if limit is None else limit
    size = path.stat().st_size
    if size > limit:
        raise LoaderError(str(path), f"file is {size / 2**20:.0f} MB, over the {limit / 2**20:.0f} MB limit")


def check_shape(value: Any, path: Path, depth_limit: int = MAX_DEPTH, node_limit: int = MAX_NODES) -> None:
    """Refuse JSON/YAML values nested deeper than ``depth_limit`` or with more than ``node_limit`` values.

    The walk follows shared (aliased) objects each time they occur, as the loaders will, and stops at
    the limit, so it is bounded however the value was built; it is iterative, so nothing recurses.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > node_limit:
            raise LoaderError(str(path), f"more than {node_limit} values (an expansion bomb?)")
        if not isinstance(item, dict | list):
            continue
        if depth > depth_limit:
            raise LoaderError(str(path), f"nested deeper than {depth_limit} levels")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)


class _LimitedSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses documents using more than ``MAX_YAML_ALIASES`` aliases."""

    aliases_used = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases_used += 1
            if self.aliases_used > MAX_YAML_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_YAML_ALIASES} aliases (an alias bomb?)")
        return super().compose_node(parent, index)


def safe_yaml(text: str) -> Any:
    """``yaml.safe_load`` with an alias budget; raises ``yaml.YAMLError`` past it."""
    loader = _LimitedSafeLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


class FileTimeout(Exception):
    """A file took longer than its time budget (raised inside the loader by the alarm)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``FileTimeout`` in the block after ``seconds`` (main thread on Unix; a no-op elsewhere).

    An alarm already pending (e.g. pytest-timeout's) is kept: when it is due first ours is not set,
    otherwise it is re-armed with its remaining time when the block ends.
    """
    usable = (
        seconds > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    pending = signal.getitimer(signal.ITIMER_REAL)[0] if usable else 0.0
    if not usable or 0 < pending <= seconds:
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise FileTimeout(f"took longer than {seconds:g} s")

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if pending > 0:
            signal.setitimer(signal.ITIMER_REAL, max(pending - (time.monotonic() - started), 0.001))
