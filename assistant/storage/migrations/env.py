"""Alembic environment: run by ``assistant.storage.migrate.upgrade`` with an open connection.

There is no ``alembic.ini``: the configuration is built in code so migrations work from an installed
package. Running the ``alembic`` command directly is not supported; use ``upgrade(url)``.
"""

from __future__ import annotations

from alembic import context

from assistant.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by running alembic by hand
    raise RuntimeError("run migrations through assistant.storage.migrate.upgrade(url)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE on SQLite needs batch mode
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
