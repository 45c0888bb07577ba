"""Start the 政务助手 HTTP server: ``python serve.py [--host H] [--port P] [--workers N]``.

Defaults come from ``Settings().api`` (env ``ASSISTANT_API__HOST`` etc.). Each worker builds its app
with ``assistant.api.app:app_from_env`` and loads the index once at start-up.

Settings are validated first: empty or too-short API keys stop the server here. Without any key the
server is anonymous — fine on loopback, loudly warned about on any other address. uvicorn's own
proxy-header handling is off (it trusts ``X-Forwarded-For`` from 127.0.0.1 by default); the app
believes forwarded headers only from ``api.trusted_proxies``.

The state database (``ASSISTANT_DATABASE_URL``, SQLite by default) is opened and its schema upgraded
here once before any worker starts, so an unreachable database stops the server with one line.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys

import uvicorn

from assistant.api.logging import configure_logging
from assistant.config import APISettings, Settings
from assistant.errors import AssistantError
from assistant.storage import Database


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_parser(api: APISettings) -> argparse.ArgumentParser:
    """The command line, with defaults from the API settings (the deployment examples are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=api.host)
    parser.add_argument("--port", type=int, default=api.port)
    parser.add_argument("--workers", type=int, default=api.workers)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: list[str] | None = None) -> None:
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError: refuse to start, say why in one block
        sys.exit(f"serve.py: invalid settings, not starting:\n{exc}")
    api = settings.api
    args = build_parser(api).parse_args(argv)
    os.environ["ASSISTANT_LOG_LEVEL"] = args.log_level.upper()  # read by each worker's app factory
    # The workers' settings see the address actually served (the default allowed origins follow it).
    os.environ["ASSISTANT_API__HOST"], os.environ["ASSISTANT_API__PORT"] = args.host, str(args.port)
    configure_logging(args.log_level.upper())
    try:  # upgrade the state database once here, so a bad URL stops the server before any worker starts
        Database.from_settings(settings).close()
    except AssistantError as exc:
        sys.exit(f"serve.py: the state database is not usable, not starting: {exc}")
    staff = api.admin_keys or api.editor_keys or api.reviewer_keys
    if not (api.widget_keys or api.kiosk_keys or staff) and not _loopback(args.host):
        logging.getLogger("assistant.api").warning(
            '{"event": "anonymous_on_network", "host": %r, "message": "no API keys are configured:'
            ' anyone who can reach this address may use the API and read sessions"}',
            args.host,
        )
    uvicorn.run(
        "assistant.api.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,  # the app writes its own JSON access lines
        proxy_headers=False,  # forwarded headers: only from api.trusted_proxies, in the app
        http="h11",
        # room for the longest documented query string (2,000 CJK characters percent-encoded)
        h11_max_incomplete_event_size=64 * 1024,
        timeout_graceful_shutdown=10,
        # a worker importing numpy/FAISS/jieba on a busy box can miss uvicorn's default 5 s health
        # ping; the supervisor then kills and restarts it, over and over (seen at load average 17)
        timeout_worker_healthcheck=60,
    )


if __name__ == "__main__":
    main()
