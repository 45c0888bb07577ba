"""What a server process does when the index generation changes, and how it notices changes made
by other processes. One place, so the replica notifier (issue 18) has one seam to replace."""

from __future__ import annotations

from fastapi import FastAPI

from ..config import Settings
from ..index.store import current_generation_name
from ..index.watch import PointerWatcher


def index_changed(app: FastAPI) -> None:
    """A new generation is current (ingest job done, rollback): serve it in this process now and
    tell other replicas (``app.state.notifier``, when one is configured)."""
    app.state.assistant.refresh_index()
    notifier = app.state.notifier
    if notifier is not None:
        notifier.publish(current_generation_name(app.state.settings.index_dir))


def make_index_watcher(app: FastAPI) -> PointerWatcher:
    """How this process follows a pointer moved by another one (``serve.py --workers N``, jobs run
    by another worker): poll it every ``admin.poll_interval_s`` in a daemon thread."""
    settings: Settings = app.state.settings
    return PointerWatcher(
        settings.index_dir, app.state.assistant.refresh_index, settings.admin.poll_interval_s
    )
