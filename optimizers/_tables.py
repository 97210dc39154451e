"""Tables of the optimizer: candidates (and failed attempts), hand-offs, splits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from flywheel.store._tables import Base, utcnow


class CandidateRow(Base):
    """One attempt of a strategy on a cluster: a branch (``proposed``) or a ``failed`` record."""

    __tablename__ = "optimizer_candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[str] = mapped_column(String(64), index=True)
    strategy: Mapped[str] = mapped_column(String(100))
    number: Mapped[int] = mapped_column(default=0)
    #: proposed, failed, rejected, shipped
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    reason: Mapped[str] = mapped_column(Text, default="")
    branch: Mapped[str | None] = mapped_column(String(300))
    worktree: Mapped[str | None] = mapped_column(Text)
    base_commit: Mapped[str | None] = mapped_column(String(64))
    head_commit: Mapped[str | None] = mapped_column(String(64))
    root_cause: Mapped[str] = mapped_column(String(60), default="")
    fix_type: Mapped[str] = mapped_column(String(40), default="")
    files_changed: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rationale: Mapped[str] = mapped_column(Text, default="")
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HandoffRow(Base):
    """A cluster configuration cannot fix, handed to the owner of its root cause."""

    __tablename__ = "optimizer_handoffs"
    __table_args__ = (
        UniqueConstraint("cluster_id", "root_cause", name="uq_optimizer_handoffs_cluster_cause"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[str] = mapped_column(String(64))
    root_cause: Mapped[str] = mapped_column(String(60))
    owner: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SplitRow(Base):
    """The recorded optimisation / validation split of a cluster's failing traces."""

    __tablename__ = "optimizer_splits"

    cluster_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seed: Mapped[int]
    fraction: Mapped[float] = mapped_column(Float)
    optimisation_ids: Mapped[dict[str, Any]] = mapped_column(default=dict)
    validation_ids: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


OPTIMIZER_TABLES = ("optimizer_candidates", "optimizer_handoffs", "optimizer_splits")
