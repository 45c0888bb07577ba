"""Engine creation for the state database: SQLite (one file, WAL) by default, PostgreSQL via psycopg 3.

``database_url(settings)`` is the one place that decides which database a process uses: the
``database_url`` setting (env ``ASSISTANT_DATABASE_URL``) or, when it is empty, the SQLite file
``api.session_db``. SQLite connections run in WAL mode with ``synchronous=NORMAL`` and
``secure_delete`` on (deleted rows are overwritten, not left in free pages), foreign keys on, and every
transaction starts with ``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead
of failing with "database is locked" when a read transaction tries to upgrade to a write (an engine
with the ``READ_ONLY`` execution option begins ``DEFERRED`` instead, for long reads such as exports).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from ..config import Settings
from ..errors import ConfigError

SQLITE_BUSY_TIMEOUT_S = 30.0
READ_ONLY = "assistant_read_only"  # execution option: this transaction only reads (SQLite: BEGIN DEFERRED)


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file (``:memory:`` for a private in-memory database)."""
    return "sqlite://" if str(path) == ":memory:" else f"sqlite:///{Path(path)}"


def database_url(settings: Settings) -> str:
    """The configured URL, normalised: ``postgres://``/``postgresql://`` use psycopg 3."""
    url = settings.database_url.strip()
    if not url:
        return sqlite_url(settings.api.session_db)
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their parent folder created and the pragmas above."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError
        raise ConfigError(f"database_url is not a valid SQLAlchemy URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed.database or "")
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", ""):
            raise ConfigError("PostgreSQL URLs use psycopg 3: postgresql+psycopg://user:pass@host/db")
        return create_engine(parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True, future=True)
    raise ConfigError(f"unsupported database {backend!r}; use SQLite (default) or postgresql+psycopg://")


def _sqlite_engine(path: str) -> Engine:
    memory = path in ("", ":memory:")
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
    }
    if memory:  # one shared connection, or every checkout would see its own empty database
        kwargs["poolclass"] = StaticPool
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine("sqlite://" if memory else f"sqlite:///{path}", **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # long read-only work (exports) opts out, so it does not hold the write lock while it reads
        deferred = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")

    return engine
