"""The state database: SQLAlchemy 2 models, Alembic migrations, repositories, and the ``Database`` facade.

SQLite (one WAL file) by default, PostgreSQL when ``database_url`` (``ASSISTANT_DATABASE_URL``)
points at one. See docs/storage.md.
"""

from ..config import Settings
from .audit import AuditEntry, AuditLog
from .curated import CuratedAnswer, CuratedAnswers
from .database import Database, make_session_store, open_session_store
from .documents import DocumentVersion, DocumentVersions
from .engine import database_url, make_engine, sqlite_url
from .jobs import Job, Jobs
from .migrate import upgrade
from .reports import Report, Reports
from .reviews import Review, Reviews
from .sessions import SQLSessionStore
from .state import State, StateEntry

__all__ = [
    "AuditEntry",
    "AuditLog",
    "CuratedAnswer",
    "CuratedAnswers",
    "Database",
    "DocumentVersion",
    "DocumentVersions",
    "Job",
    "Jobs",
    "Report",
    "Reports",
    "Review",
    "Reviews",
    "SQLSessionStore",
    "State",
    "StateEntry",
    "database_url",
    "make_database",
    "make_engine",
    "make_session_store",
    "open_session_store",
    "sqlite_url",
    "upgrade",
]


def make_database(settings: Settings) -> Database:
    """Alias of ``Database.from_settings`` (the name agreed between branches)."""
    return Database.from_settings(settings)
