"""The replay tables, on the store's declarative base (migration 0005 creates them).

Candidate ids are plain strings, not foreign keys: candidates live in the optimizers' tables,
and a replay of an ad-hoc configuration has no candidate row at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flywheel.store._tables import Base, utcnow


class CaseSetRow(Base):
    """One version of a case set; the digest is the hash of its content, so it never changes."""

    __tablename__ = "replay_case_sets"
    __table_args__ = (Index("ix_replay_case_sets_suite_cluster", "suite", "cluster_id"),)

    digest: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: validation, regression, blocking
    suite: Mapped[str] = mapped_column(String(20))
    cluster_id: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    schema_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseRow(Base):
    """One case of a case set, in order; ``payload`` is the full `Case`."""

    __tablename__ = "replay_cases"

    set_digest: Mapped[str] = mapped_column(
        ForeignKey("replay_case_sets.digest", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(String(512))
    case_digest: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReplayRunRow(Base):
    """One replay of one configuration on one case set."""

    __tablename__ = "replay_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    candidate_id: Mapped[str | None] = mapped_column(String(200), index=True)
    config_digest: Mapped[str] = mapped_column(String(32))
    config_dir: Mapped[str] = mapped_column(Text)
    config_commit: Mapped[str | None] = mapped_column(String(64))
    set_digest: Mapped[str] = mapped_column(String(32))
    repeats: Mapped[int] = mapped_column(Integer)
    #: running, completed, interrupted
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ReplayResultRow(Base):
    """The result of (configuration content, case content, repeat): the cache and the record.

    Written as soon as the case finishes, so a killed replay resumes where it stopped.
    """

    __tablename__ = "replay_results"

    config_digest: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_digest: Mapped[str] = mapped_column(String(32), primary_key=True)
    repeat: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(String(512))
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    #: pass, fail, error
    status: Mapped[str] = mapped_column(String(10))
    error_kind: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[list[Any]] = mapped_column(JSON)
    scorer_key: Mapped[str] = mapped_column(String(500))
    session_id: Mapped[str | None] = mapped_column(String(512))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    tool_calls: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    #: The replayed trace (zlib-compressed native JSON), None for an infrastructure error.
    trace: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GateDecisionRow(Base):
    """A gate decision with every number behind it (``report`` is the full `GateReport`)."""

    __tablename__ = "replay_gate_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[str] = mapped_column(String(200), index=True)
    cluster_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: pass, fail, inconclusive
    decision: Mapped[str] = mapped_column(String(20))
    #: Raw (uncorrected) one-sided McNemar p-value: the input of Holm over the cluster.
    p_value: Mapped[float | None] = mapped_column(Float)
    baseline_digest: Mapped[str] = mapped_column(String(32))
    candidate_digest: Mapped[str] = mapped_column(String(32))
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
