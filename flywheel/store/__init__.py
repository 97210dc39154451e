"""The trace store: SQLAlchemy 2 on SQLite (default) or PostgreSQL, schema by Alembic."""

from flywheel.store._db import resolve_url
from flywheel.store._ingest import IngestCounts, PreparedTrace, TimestampWindow, prepare_trace
from flywheel.store._locks import PIPELINE_LOCK, LockHeld, run_lock
from flywheel.store._store import QuarantinedRecord, Store, StoredTrace, TraceSummary

__all__ = [
    "PIPELINE_LOCK",
    "IngestCounts",
    "LockHeld",
    "PreparedTrace",
    "QuarantinedRecord",
    "Store",
    "StoredTrace",
    "TimestampWindow",
    "TraceSummary",
    "prepare_trace",
    "resolve_url",
    "run_lock",
]
