"""Tables of the nightly pipeline: runs, their stages, and the inbox files already ingested."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from flywheel.store._tables import Base, utcnow


class NightlyRunRow(Base):
    """One `flywheel nightly` run; resumed until it is ``finished``."""

    __tablename__ = "nightly_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    #: running, failed, finished, abandoned
    status: Mapped[str] = mapped_column(String(20), default="running")
    #: The ordered stage names this run executes, and its options.
    stages: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")


class NightlyStageRow(Base):
    """One stage of a run: its status, time, summary and counts (or its one-line failure)."""

    __tablename__ = "nightly_stages"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_nightly_stages_run_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("nightly_runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)
    #: running, finished, failed
    status: Mapped[str] = mapped_column(String(20), default="running")
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    seconds: Mapped[float] = mapped_column(default=0.0)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")


class InboxFileRow(Base):
    """An inbox file the nightly ingest already read (skipped while size and mtime match)."""

    __tablename__ = "nightly_inbox_files"

    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[int | None]
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
