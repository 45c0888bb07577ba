"""The ``Database`` facade: one engine, the schema upgraded, and one repository per kind of state.

``Database.from_settings(settings)`` is how the server, the ingest command and the CLI open the
state database; it runs the Alembic upgrade first, so an empty SQLite file or PostgreSQL database
works with no extra step. Repositories hand out dataclasses, never ORM objects.
"""

from __future__ import annotations

from sqlalchemy import Engine

from ..config import APISettings, Settings
from ..errors import ConfigError
from ..sessions import MemorySessionStore, SessionStore
from .audit import AuditLog
from .curated import CuratedAnswers
from .documents import DocumentVersions
from .engine import database_url, make_engine, sqlite_url
from .jobs import Jobs
from .migrate import upgrade
from .reports import Reports
from .reviews import Reviews
from .sessions import SQLSessionStore
from .state import State

SESSION_STORES = ("sql", "memory")
_ALIASES = {"sqlite": "sql"}


class Database:
    """All state behind one engine: ``.sessions .audit .curated .reviews .documents .jobs .reports .state``."""

    def __init__(
        self, engine: Engine, *, sessions: SessionStore | None = None, idle_seconds: float = 0.0
    ) -> None:
        self.engine = engine
        self.sessions: SessionStore = (
            sessions if sessions is not None else SQLSessionStore(engine, idle_seconds)
        )
        self.audit = AuditLog(engine)
        self.curated = CuratedAnswers(engine)
        self.reviews = Reviews(engine)
        self.documents = DocumentVersions(engine)
        self.jobs = Jobs(engine)
        self.reports = Reports(engine)
        self.state = State(engine)

    @classmethod
    def open(cls, url: str, *, idle_seconds: float = 0.0, sessions: SessionStore | None = None) -> Database:
        """Open (and upgrade) the database at ``url``."""
        engine = make_engine(url)
        try:
            upgrade(engine)
        except Exception:
            engine.dispose()
            raise
        return cls(engine, sessions=sessions, idle_seconds=idle_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database named by ``settings.database_url`` (empty: the SQLite file ``api.session_db``)."""
        kind = session_store_kind(settings.api)
        idle = settings.api.session_idle_minutes * 60.0
        memory = MemorySessionStore(idle) if kind == "memory" else None
        return cls.open(database_url(settings), idle_seconds=idle, sessions=memory)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.sessions.close()
        self.engine.dispose()


def session_store_kind(api: APISettings) -> str:
    kind = _ALIASES.get(api.session_store, api.session_store)
    if kind not in SESSION_STORES:
        raise ConfigError(
            f"unknown session store {api.session_store!r}; choose one of {list(SESSION_STORES)}"
        )
    return kind


def make_session_store(api: APISettings) -> SessionStore:
    """A standalone session store from the API settings alone: SQL on the SQLite file ``api.session_db``
    (upgraded), or memory. The server uses ``Database.from_settings`` instead."""
    idle = api.session_idle_minutes * 60.0
    if session_store_kind(api) == "memory":
        return MemorySessionStore(idle)
    return open_session_store(sqlite_url(api.session_db), idle)


def open_session_store(url: str, idle_seconds: float = 0.0) -> SQLSessionStore:
    """A session store with its own engine on ``url`` (schema upgraded); ``close()`` disposes the engine."""
    engine = make_engine(url)
    upgrade(engine)
    return SQLSessionStore(engine, idle_seconds, owns_engine=True)
