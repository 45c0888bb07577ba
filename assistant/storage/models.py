"""The state database's tables as SQLAlchemy 2 declarative models (typed ``Mapped[]`` columns).

Times are Unix seconds (``float``), as elsewhere in the package. JSON columns are ``JSONB`` on
PostgreSQL and JSON text on SQLite. These models are the storage layer's private business: the
repositories hand out dataclasses, never these objects. Every schema change needs an Alembic
migration under ``migrations/versions`` (the tests compare the two).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Json = JSON().with_variant(JSONB(), "postgresql")
# BIGINT on PostgreSQL; INTEGER on SQLite, where only "INTEGER PRIMARY KEY" autoincrements
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class SessionRow(Base):
    __tablename__ = "sessions"

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[float] = mapped_column(Float)
    last_active: Mapped[float] = mapped_column(Float, index=True)


class ExchangeRow(Base):
    __tablename__ = "exchanges"
    __table_args__ = (Index("ix_exchanges_session", "session_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)  # insertion order
    request_id: Mapped[str] = mapped_column(String(128), unique=True)
    session_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[float] = mapped_column(Float, index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    answered_by: Mapped[str] = mapped_column(String(32), default="")
    handoff: Mapped[str] = mapped_column(String(64), default="")
    citations: Mapped[list[Any]] = mapped_column(Json, default=list)
    channel: Mapped[str] = mapped_column(String(16), default="")  # widget | kiosk | api | ""
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    department: Mapped[str] = mapped_column(String(200), default="")  # the [1] citation's department
    hits: Mapped[list[Any]] = mapped_column(Json, default=list)  # [{doc_id, title, score}]
    meta: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # intent, moderation, label, ...


class FeedbackRow(Base):
    __tablename__ = "feedback"

    request_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("exchanges.request_id", ondelete="CASCADE"), primary_key=True
    )
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float, index=True)


class ReviewRow(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    verdict: Mapped[str] = mapped_column(String(16))  # correct | wrong | needs_curated
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[float] = mapped_column(Float, index=True)


class CuratedAnswerRow(Base):
    __tablename__ = "curated_answers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    questions: Mapped[list[Any]] = mapped_column(Json, default=list)
    answer: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[Any]] = mapped_column(Json, default=list)  # document ids
    department: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[str] = mapped_column(String(10), default="")  # ISO date, "" open
    valid_to: Mapped[str] = mapped_column(String(10), default="")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[float] = mapped_column(Float)


class DocumentVersionRow(Base):
    __tablename__ = "document_versions"
    __table_args__ = (Index("ux_document_versions", "document_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # upload | update | delete | restore | ...
    actor: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[float] = mapped_column(Float, index=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", Json, default=dict)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    filename: Mapped[str] = mapped_column(String(300), default="")


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued | running | done | failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[float] = mapped_column(Float, index=True)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(32), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[float] = mapped_column(Float, index=True)
    before: Mapped[Any | None] = mapped_column(Json, nullable=True)
    after: Mapped[Any | None] = mapped_column(Json, nullable=True)


class ReportRow(Base):
    __tablename__ = "reports"

    tracking_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), index=True)  # 待处理 | 处理中 | 已办结
    created_at: Mapped[float] = mapped_column(Float, index=True)
    deadline: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    handler_note: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[list[Any]] = mapped_column(Json, default=list)  # [{status, at, actor, note}]


class StateRow(Base):
    __tablename__ = "kv_state"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(Json, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[float] = mapped_column(Float)
