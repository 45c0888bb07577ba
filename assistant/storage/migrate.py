"""Schema upgrades with Alembic, run by every process that opens the database (server, ingest, CLI).

``upgrade(engine)`` brings the schema to the newest revision shipped in ``migrations/versions``; on
an empty database it creates every table, on a current one it does nothing. Two replicas starting
together on one PostgreSQL do not race: the upgrade runs under a PostgreSQL advisory lock, so the
second waits and then finds the schema current. On SQLite the migration transaction starts with
``BEGIN IMMEDIATE`` (see engine.py), which serialises concurrent upgrades the same way.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

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


def upgrade(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (idempotent; safe when replicas start together)."""
    try:
        with engine.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
                conn.commit()
            try:
                command.upgrade(alembic_config(conn), "head")
                conn.commit()
            finally:
                if postgres:
                    conn.rollback()
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                    conn.commit()
    except StorageError:
        raise
    except Exception as exc:  # sqlalchemy.exc.DBAPIError, alembic errors
        raise StorageError(f"could not upgrade the database schema: {type(exc).__name__}: {exc}") from exc
