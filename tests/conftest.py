"""Shared fixtures: settings on the hash embedder, the mini knowledge base and a session-built index."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings

FIXTURES = Path(__file__).parent / "fixtures"
MINI_KNOWLEDGE = FIXTURES / "knowledge_mini"


def make_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings isolated in ``tmp`` using the deterministic hash embedder (and no intent model)."""
    base: dict[str, object] = {
        "knowledge_dir": MINI_KNOWLEDGE,
        "index_dir": tmp / "index",
        "cache_dir": tmp / "cache",
        "embedder": {"name": "hash", "dim": 256},
        "today": "2026-11-26",
        "api": {"session_db": tmp / "sessions.sqlite3"},
    }
    base.update(overrides)
    # the shipped intent model needs the embedder it was trained with; tests choose `fake` explicitly
    answer = base.get("answer")
    base["answer"] = {"intent": "none", **(answer if isinstance(answer, dict) else {})}
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **kw: make_settings(tmp_path, **kw)


@pytest.fixture(scope="session")
def mini_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini knowledge base indexed once per session with the hash embedder (copy before mutating)."""
    from assistant.ingest.build import ingest

    tmp = tmp_path_factory.mktemp("mini_index")
    settings = make_settings(tmp)
    ingest(settings)
    return settings.index_dir


@pytest.fixture
def mini_settings(tmp_path: Path, mini_index: Path) -> Settings:
    """Settings whose index is a private copy of the session's mini index."""
    settings = make_settings(tmp_path)
    shutil.copytree(mini_index, settings.index_dir)
    return settings


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One throw-away PostgreSQL server for the whole run (tests/_postgres.py); skipped when not installed."""
    from _postgres import SKIP_REASON, PostgresServer, find_binaries

    bindir = find_binaries()
    if bindir is None:
        pytest.skip(SKIP_REASON)
    server = PostgresServer(bindir)
    try:
        server.start()
    except Exception as exc:
        server.stop()
        detail = getattr(exc, "stderr", "") or exc
        pytest.fail(f"PostgreSQL is installed but did not start: {detail}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: Any) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


NOT_UNIT = ("slow", "integration", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that is not slow, integration or browser is a ``unit`` test (``pytest -m unit``)."""
    for item in items:
        if not any(item.get_closest_marker(name) for name in NOT_UNIT):
            item.add_marker(pytest.mark.unit)


# API test fixtures (api_assistant, make_api_client, api_client) live in tests/_api_support.py.
pytest_plugins = ["_api_support"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for every browser test module (Playwright's sync API runs once per process)."""
    from playwright.sync_api import sync_playwright
    from web_fixtures import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
