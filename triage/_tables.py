"""The triage tables (same declarative Base as the core; migration 0003 creates them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flywheel.store._tables import Base, utcnow


class TriageRecordRow(Base):
    """One triage decision about a cluster, as the agent (or a fallback) made it."""

    __tablename__ = "triage_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    cluster_run_id: Mapped[int | None] = mapped_column(ForeignKey("cluster_runs.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    root_cause: Mapped[str] = mapped_column(String(40))
    component: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(2))
    priority: Mapped[float] = mapped_column(Float)
    fixable: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float] = mapped_column(Float)
    fix_type: Mapped[str] = mapped_column(String(40))
    #: offline | llm | llm→offline fallback | human
    source: Mapped[str] = mapped_column(String(40))
    rationale: Mapped[str] = mapped_column(Text)
    #: {"items": [{"trace_id", "step_id", "fact", "why"}]}
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Scores, contradictions, severity reasons, priority explanation, fact rates, LLM errors.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TriageLabelRow(Base):
    """A reviewer's root cause (and severity) for a cluster: calibration and memory."""

    __tablename__ = "triage_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    root_cause: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str | None] = mapped_column(String(2))
    reviewer: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The agent's record the reviewer saw (the latest at label time), if any.
    record_id: Mapped[int | None] = mapped_column(ForeignKey("triage_records.id"))
    #: {"vector": [...]} the cluster's fact rates at label time (the memory's example).
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
