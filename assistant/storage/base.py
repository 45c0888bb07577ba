"""What every repository shares: one transaction per call, database errors mapped onto ``assistant.errors``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import ConflictError, StorageError


@contextlib.contextmanager
def mapped_errors() -> Iterator[None]:
    """A constraint violation becomes ``ConflictError`` (409); any other database failure (disk full,
    server gone, lock timeout) becomes ``StorageError`` (503), so callers never see SQLAlchemy types."""
    try:
        yield
    except IntegrityError as exc:
        raise ConflictError(f"already stored: {exc.orig}") from None
    except SQLAlchemyError as exc:
        raise StorageError(f"database failed: {type(exc).__name__}: {getattr(exc, 'orig', exc)}") from None


class Transactions:
    """``with tx() as s:`` — one ORM session in one transaction, committed on success; ``with
    tx.core() as conn:`` — the same with a plain Core connection (hot paths: no unit of work).
    Errors are mapped by ``mapped_errors``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._factory = sessionmaker(engine, expire_on_commit=False)

    @contextlib.contextmanager
    def __call__(self) -> Iterator[Session]:
        with mapped_errors(), self._factory.begin() as session:
            yield session

    @contextlib.contextmanager
    def core(self) -> Iterator[Connection]:
        with mapped_errors(), self.engine.begin() as conn:
            yield conn


def insert_for(engine: Engine, table: Table) -> postgresql.Insert | sqlite.Insert:
    """A dialect ``INSERT`` that supports ``on_conflict_do_update`` / ``on_conflict_do_nothing``."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def rowcount(result: Any) -> int:
    """Rows a DML statement touched (``Session.execute`` is typed as returning a plain ``Result``)."""
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0
