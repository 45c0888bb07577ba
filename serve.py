"""Start the 政务助手 HTTP server: ``python serve.py [--host H] [--port P] [--workers N]``.

Defaults come from ``Settings().api`` (env ``ASSISTANT_API__HOST`` etc.). Each worker builds its app
with ``assistant.api.app:app_from_env`` and loads the index once at start-up.
"""

from __future__ import annotations

import argparse
import os

import uvicorn

from assistant.api.logging import configure_logging
from assistant.config import Settings


def main(argv: list[str] | None = None) -> None:
    api = Settings().api
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=api.host)
    parser.add_argument("--port", type=int, default=api.port)
    parser.add_argument("--workers", type=int, default=api.workers)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    os.environ["ASSISTANT_LOG_LEVEL"] = args.log_level.upper()  # read by each worker's app factory
    configure_logging(args.log_level.upper())
    uvicorn.run(
        "assistant.api.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,  # the app writes its own JSON access lines
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
