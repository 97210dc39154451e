"""The eval-set tables, on the store's declarative base (migration 0009_datasets creates them).

Core tables: the clusters they refer to are core too; candidates, replay runs and approvers are
plain strings handed in by the caller, never foreign keys into the packages above the core.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from flywheel.store._tables import Base, utcnow


class EvalCaseRow(Base):
    """One eval case (one production trace with its expected behaviour), in exactly one role."""

    __tablename__ = "eval_cases"
    __table_args__ = (Index("ix_eval_cases_role", "role"),)

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    #: The case's content (inputs, origin, expected, tags, provenance, failing output) as JSON.
    body: Mapped[dict[str, Any]] = mapped_column()
    #: Hash of ``body``: an edit of the row that bypasses Flywheel shows in `verify_datasets`.
    digest: Mapped[str] = mapped_column(String(32))
    trace_id: Mapped[str] = mapped_column(String(512), index=True)
    cluster_id: Mapped[str | None] = mapped_column(String(64), index=True)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvalSetVersionRow(Base):
    """One version of a role's set: its content hash, members and thresholds (never edited)."""

    __tablename__ = "eval_set_versions"
    __table_args__ = (UniqueConstraint("role", "version", name="uq_eval_set_versions_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(32))
    #: ``{"cases": {case_id: digest}, "thresholds": {...}}``
    members: Mapped[dict[str, Any]] = mapped_column()
    size: Mapped[int]
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The sign-off record that allowed the change (blocking set), if one was needed.
    signoff_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetAuditRow(Base):
    """Append-only, hash-chained record of sign-offs and holdout freezes (see `_audit`)."""

    __tablename__ = "dataset_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column()
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class HoldoutReadRow(Base):
    """One attempt to read the frozen holdout: who, why, allowed or refused, what hash."""

    __tablename__ = "holdout_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reader: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(60))
    allowed: Mapped[bool] = mapped_column(Boolean)
    cases: Mapped[int] = mapped_column(default=0)
    content_hash: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
