"""The app's tables on the shared schema: audit log, approval queue, decisions, ship events.

Migration ``0006`` (flywheel/store/migrations/versions/0006_ui.py) creates them; a test checks
that it matches these models. ``ui_candidates`` is the approval queue's own record of a gated
candidate (what the approver saw); the optimizers and replay packages fill it through
`ui.register_candidate`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flywheel.store._tables import Base, utcnow


class AuditRecordRow(Base):
    """One audit record; ``hash`` covers its fields and ``prev_hash`` (a hash chain)."""

    __tablename__ = "ui_audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Unique: two writers racing for the same predecessor cannot fork the chain.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class CandidateRow(Base):
    """A gated candidate fix waiting for (or past) a human decision."""

    __tablename__ = "ui_candidates"
    __table_args__ = (Index("ix_ui_candidates_queue", "status", "priority"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(String(16), index=True)
    cluster_label: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(4))
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    author: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(100), default="")
    repo: Mapped[str] = mapped_column(Text)
    branch: Mapped[str] = mapped_column(String(300))
    #: The branch a fix ships to (the configuration repository's "main").
    main_branch: Mapped[str] = mapped_column(String(300), default="main")
    #: Where the candidate came from, e.g. ``optimizers:7`` (told when it is decided).
    origin: Mapped[str] = mapped_column(String(200), default="")
    base_sha: Mapped[str] = mapped_column(String(64))
    diff: Mapped[str] = mapped_column(Text, default="")
    rationale: Mapped[str] = mapped_column(Text, default="")
    replay_run: Mapped[str] = mapped_column(String(200))
    #: The gate's numbers (see `ui.GateSummary`) and the flipped cases (`ui.FlippedCase`).
    gate: Mapped[dict[str, Any]] = mapped_column(default=dict)
    flips: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: gated, shipped, rejected, rolled_back
    status: Mapped[str] = mapped_column(String(20), default="gated")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DecisionRow(Base):
    """One human decision (approve / reject) on a candidate, with its comment."""

    __tablename__ = "ui_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("ui_candidates.id"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ShipRow(Base):
    """A shipped fix: the merge commit on the config repository's main, and its rollback."""

    __tablename__ = "ui_ships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("ui_candidates.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(String(16), index=True)
    merge_sha: Mapped[str] = mapped_column(String(64))
    approvers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    shipped_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    revert_sha: Mapped[str | None] = mapped_column(String(64))
    rolled_back_by: Mapped[str | None] = mapped_column(String(200))
    rolled_back_at: Mapped[datetime | None]


UI_TABLES = ("ui_audit_log", "ui_candidates", "ui_decisions", "ui_ships")
