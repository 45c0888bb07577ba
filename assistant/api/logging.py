"""Structured JSON log lines (one per request) with request id, timings, answered_by and hand-off; PII masked.

Uses the standard ``logging`` module under the ``assistant.api`` logger; ``serve.py`` attaches a
plain handler, so each record's message is already a JSON object. Lines are only built when the
logger is enabled, keeping the hot path cheap.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from ..safety import mask_pii

access_log = logging.getLogger("assistant.api.access")


def log_event(event: str, **fields: Any) -> None:
    """Emit ``{"ts", "event", **fields}`` as one JSON line; string fields named ``question``/``comment`` are masked."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    for key in ("question", "comment", "answer"):
        value = fields.get(key)
        if isinstance(value, str):
            fields[key] = mask_pii(value[:300])
    record = {"ts": round(time.time(), 3), "event": event, **fields}
    access_log.info(json.dumps(record, ensure_ascii=False, default=str))


def configure_logging(level: str = "INFO") -> None:
    """Send ``assistant.*`` records to stderr as bare messages (they are JSON already)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("assistant")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
