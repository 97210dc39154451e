"""The database schema (SQLAlchemy 2 declarative). Alembic migrations create and evolve it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class IngestionRun(Base):
    """One `flywheel ingest` call and its counts (kept up to date batch by batch)."""

    __tablename__ = "ingestion_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    #: running, completed, interrupted, failed
    status: Mapped[str] = mapped_column(String(20), default="running")
    paths: Mapped[dict[str, Any]] = mapped_column(default=dict)
    read: Mapped[int] = mapped_column(default=0)
    stored: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    quarantined: Mapped[int] = mapped_column(default=0)
    #: Who runs it and when it last committed a batch: how `stats` tells a dead run.
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]
    heartbeat_at: Mapped[datetime | None]


class TraceRow(Base):
    """The current version of a trace, keyed by (source, trace_id); payload is the full JSON."""

    __tablename__ = "traces"
    __table_args__ = (
        UniqueConstraint("source", "trace_id", name="uq_traces_source_trace_id"),
        Index("ix_traces_session", "session_id", "timestamp"),
        Index("ix_traces_failing", "failing", "timestamp"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    trace_id: Mapped[str] = mapped_column(String(512))
    content_hash: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    session_id: Mapped[str | None] = mapped_column(String(512))
    #: Empty when the trace's own timestamp is outside the ingest window; then this says why.
    timestamp: Mapped[datetime | None] = mapped_column(index=True)
    timestamp_flag: Mapped[str | None] = mapped_column(String(300))
    input_preview: Mapped[str] = mapped_column(Text, default="")
    route: Mapped[str | None] = mapped_column(String(200))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    tool_calls: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    ingestion_run_id: Mapped[int | None] = mapped_column(ForeignKey("ingestion_runs.id"))
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: None until failure signals have been computed for this version.
    failing: Mapped[bool | None] = mapped_column(Boolean)
    failure_score: Mapped[float | None] = mapped_column(Float)


class TraceVersion(Base):
    """A previous version of a trace, kept when changed content replaced it."""

    __tablename__ = "trace_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trace_pk: Mapped[int] = mapped_column(ForeignKey("traces.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(32))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignalRow(Base):
    """One failure (or success) signal of a trace."""

    __tablename__ = "signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trace_pk: Mapped[int] = mapped_column(ForeignKey("traces.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    strength: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text)
    step_id: Mapped[str | None] = mapped_column(String(512))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SignatureRow(Base):
    """A trace's failure signature, request text and symptom features, for one set of settings.

    ``settings`` is the hash of the signature settings; ``content_hash`` the trace version it
    was built from. Re-detecting a trace's signals deletes its row.
    """

    __tablename__ = "signature_cache"

    trace_pk: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("traces.id", ondelete="CASCADE"),
        primary_key=True,
    )
    settings: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(Text)
    request: Mapped[str] = mapped_column(Text)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DetectionRow(Base):
    """The detections of a failing trace (`flywheel.detectors`), as one JSON list, and the
    detectors that failed on it. ``detectors`` (a fingerprint of the registry) and
    ``content_hash`` say which detectors and which trace version they came from: a row that
    does not match both is ignored, and the readers run the detectors themselves."""

    __tablename__ = "trace_detections"

    trace_pk: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("traces.id", ondelete="CASCADE"),
        primary_key=True,
    )
    detectors: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(32))
    detections: Mapped[list[Any]] = mapped_column(JSON, default=list)
    failures: Mapped[list[Any]] = mapped_column(JSON, default=list)


class QuarantineRow(Base):
    """A rejected input record: where it was, why, and its raw text (compressed)."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingestion_runs.id"), index=True)
    file: Mapped[str] = mapped_column(Text)
    line: Mapped[int | None]
    field: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmbeddingRow(Base):
    """A cached sentence embedding: float32 bytes keyed by (model, SHA-256 of the text)."""

    __tablename__ = "embedding_cache"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int]
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class ClusterRunRow(Base):
    """One `flywheel cluster` run: full re-cluster or incremental assignment."""

    __tablename__ = "cluster_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: full or incremental
    kind: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    model: Mapped[str] = mapped_column(String(200))
    traces: Mapped[int] = mapped_column(default=0)
    clusters: Mapped[int] = mapped_column(default=0)
    noise: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    #: Parameters chosen, timings, identity events (matches, new, splits, merges).
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ClusterRow(Base):
    """A failure pattern with a stable id (``C-0007``) across runs."""

    __tablename__ = "clusters"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[dict[str, Any]] = mapped_column(default=dict)
    exemplar_ids: Mapped[dict[str, Any]] = mapped_column(default=dict)
    size: Mapped[int] = mapped_column(default=0)
    #: Unit centroid of the members' embeddings (float32 bytes) and the assignment radius.
    centroid: Mapped[bytes] = mapped_column(LargeBinary)
    radius: Mapped[float] = mapped_column(Float, default=0.0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    created_run_id: Mapped[int] = mapped_column(ForeignKey("cluster_runs.id"))
    last_run_id: Mapped[int] = mapped_column(ForeignKey("cluster_runs.id"))


class ClusterMemberRow(Base):
    """The current cluster of one failing trace (``cluster_id`` NULL = noise)."""

    __tablename__ = "cluster_members"

    trace_pk: Mapped[int] = mapped_column(
        ForeignKey("traces.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[str | None] = mapped_column(ForeignKey("clusters.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("cluster_runs.id"), index=True)
    strength: Mapped[float] = mapped_column(Float, default=0.0)
    #: True when a noise point was soft-assigned, or assigned incrementally.
    soft: Mapped[bool] = mapped_column(Boolean, default=False)
    signature_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[datetime | None]
