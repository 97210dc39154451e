"""The trace store: SQLAlchemy 2 on SQLite (default) or PostgreSQL, schema by Alembic."""

from flywheel.store._db import resolve_url
from flywheel.store._ingest import IngestCounts
from flywheel.store._store import QuarantinedRecord, Store, StoredTrace, TraceSummary

__all__ = [
    "IngestCounts",
    "QuarantinedRecord",
    "Store",
    "StoredTrace",
    "TraceSummary",
    "resolve_url",
]
