"""Schema upgrades with Alembic, run by every process that opens the database (server, ingest, CLI).

``upgrade(engine)`` brings the schema to the newest revision shipped in ``migrations/versions``; on
an empty database it creates every table, on a current one it does nothing. Two replicas starting
together on one PostgreSQL do not race: the upgrade runs under a PostgreSQL advisory lock, so the
second waits and then finds the schema current. On a SQLite file the same is done with an exclusive
``flock`` on ``<file>.migrate.lock`` (the checks before the migration read before they write, and a
read lock cannot wait its way up to a write lock: "database is locked"). A SQLite
file written by the earlier hand-made ``sqlite3`` session store is adopted: its conversations and
feedback are copied into the new tables.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from ..errors import StorageError

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_lock key: any constant 64-bit number this application alone uses
ADVISORY_LOCK_KEY = 0x7A68_656E_6777_7531


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code (no alembic.ini), bound to ``connection`` if given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock beside a SQLite database file while it is upgraded (no-op otherwise)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def upgrade(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (idempotent; safe when replicas start together)."""
    try:
        with _sqlite_file_lock(engine), engine.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
                conn.commit()
            try:
                _set_legacy_aside(conn)
                command.upgrade(alembic_config(conn), "head")
                conn.commit()
                if conn.dialect.name == "sqlite":
                    _adopt_legacy(conn)
            finally:
                if postgres:
                    conn.rollback()
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                    conn.commit()
    except StorageError:
        raise
    except Exception as exc:  # sqlalchemy.exc.DBAPIError, alembic errors
        raise StorageError(f"could not upgrade the database schema: {type(exc).__name__}: {exc}") from exc


# --- the sqlite3 session store this package replaced ---------------------------------------------

LEGACY_TABLES = ("sessions", "exchanges", "feedback")
_ADOPT = (
    "INSERT OR IGNORE INTO sessions (session_id, owner, created_at, last_active)"
    " SELECT session_id, owner, created_at, last_active FROM legacy_sessions",
    "INSERT OR IGNORE INTO exchanges (request_id, session_id, created_at, question, answer, answered_by,"
    " handoff, citations, channel, confidence, department, hits, meta)"
    " SELECT request_id, session_id, created_at, question, answer, answered_by, handoff, citations,"
    " '', NULL, '', '[]', '{}' FROM legacy_exchanges ORDER BY rowid",
    "INSERT OR IGNORE INTO feedback (request_id, rating, comment, created_at)"
    " SELECT request_id, rating, comment, created_at FROM legacy_feedback",
)


def _set_legacy_aside(conn: Connection) -> bool:
    """A SQLite file written by the old hand-made session store (its tables, no Alembic version):
    rename its tables to ``legacy_*`` so the first migration can create the new ones."""
    if conn.dialect.name != "sqlite":
        return False
    names = set(inspect(conn).get_table_names())
    if "alembic_version" in names or "exchanges" not in names:
        return False
    for table in LEGACY_TABLES:
        if table in names:
            conn.exec_driver_sql(f"ALTER TABLE {table} RENAME TO legacy_{table}")
    conn.commit()
    return True


def _adopt_legacy(conn: Connection) -> None:
    """Copy the old store's rows into the new tables and drop the ``legacy_*`` ones (idempotent, so
    an upgrade interrupted between the two steps finishes at the next start)."""
    names = set(inspect(conn).get_table_names())
    if not {f"legacy_{t}" for t in LEGACY_TABLES} <= names:
        return
    for sql in _ADOPT:
        conn.exec_driver_sql(sql)
    for table in ("feedback", "exchanges", "sessions"):
        conn.exec_driver_sql(f"DROP TABLE legacy_{table}")
    conn.commit()
