"""What a server process does when the index generation changes, and how it hears of changes made
by other processes (workers of ``serve.py --workers N``, other replicas, ``python -m assistant ingest``)."""

from __future__ import annotations

from fastapi import FastAPI

from ..config import Settings
from ..index.store import current_generation_name
from ..notify import IndexWatcher


def index_changed(app: FastAPI) -> None:
    """A new generation is current (ingest job done, rollback): serve it in this process now and
    tell every other process (``app.state.notifier``; with no Redis they find it by polling)."""
    app.state.assistant.refresh_index()
    generation = current_generation_name(app.state.settings.index_dir)
    if generation is not None:
        app.state.notifier.publish(generation)


def make_index_watcher(app: FastAPI) -> IndexWatcher:
    """How this process follows a generation written elsewhere: a refresh on every notice, and polling
    of the ``CURRENT`` pointer every ``admin.poll_interval_s`` as the fallback (``assistant/notify.py``)."""
    settings: Settings = app.state.settings
    return IndexWatcher(
        app.state.notifier,
        app.state.assistant.refresh_index,
        settings.admin.poll_interval_s,
        current=lambda: current_generation_name(settings.index_dir),
    )
