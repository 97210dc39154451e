"""Retention: delete traces older than a cutoff, with their payloads and derived rows, but never
a trace that something kept refers to.

A trace's age is its own timestamp, or when it was ingested if that is empty (a flagged clock).
What a trace owns goes with it: its previous versions, failure signals, detections, cached
signature and cluster membership (the clusters' sizes are recounted). Everything else in the
database is a *keeper*: cluster exemplars, eval cases (datasets, the regression set, the
holdout), triage evidence, optimizer candidates and their evidence, replay cases, sign-off and
audit records, whatever a package above the core adds later. Keepers are read without
importing the packages that own them (the core sits below them): every text and JSON value of
every other table is scanned, and a candidate whose trace id appears as a whole value (or a
JSON string, key or value, at any depth) is kept. Scanning everything errs on the side of
keeping: an unrelated value equal to a trace id keeps that trace, never the reverse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, MetaData, String, Text, delete, func, select, update
from sqlalchemy.types import TypeEngine

from flywheel.store._store import Store
from flywheel.store._tables import (
    ClusterMemberRow,
    ClusterRow,
    DetectionRow,
    SignalRow,
    SignatureRow,
    TraceRow,
    TraceVersion,
    utcnow,
)

#: Rows owned by one trace, deleted with it (``trace_pk`` columns).
OWNED = (TraceVersion, SignalRow, DetectionRow, SignatureRow, ClusterMemberRow)
#: Tables that refer to no trace by id: bookkeeping, caches, the traces and what they own.
NOT_KEEPERS = frozenset(
    {
        "traces",
        *(table.__tablename__ for table in OWNED),
        "ingestion_runs",
        "quarantine",
        "embedding_cache",
        "cluster_runs",
        "run_locks",
        "alembic_version",
    }
)
_CHUNK = 500


class RetentionReport(BaseModel):
    """What a retention run deleted (or, dry, would delete); ``older == deleted + kept``."""

    model_config = ConfigDict(extra="forbid")

    cutoff: datetime = Field(description="traces older than this (UTC) were candidates")
    dry_run: bool
    older: int = Field(description="traces older than the cutoff")
    deleted: int = Field(description="of those, deleted (dry run: would be)")
    kept: int = Field(description="of those, kept because a keeper refers to them")
    kept_by: dict[str, int] = Field(
        default_factory=dict,
        description="per keeper table, the old traces it refers to (a trace may count twice)",
    )
    rows: dict[str, int] = Field(
        default_factory=dict,
        description="rows deleted (would be) per table: traces and what they own",
    )


def apply_retention(
    store: Store,
    older_than_days: float,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionReport:
    """Delete (or count, with ``dry_run``) the traces older than ``older_than_days``.

    The caller holds the pipeline's run lock. Deletion runs in chunks of `_CHUNK` traces, one
    transaction each: an interrupted run leaves whole traces, and a rerun finishes the job.
    """
    moment = now or utcnow()
    cutoff = (moment.astimezone(UTC) if moment.tzinfo else moment) - timedelta(days=older_than_days)
    naive = cutoff.replace(tzinfo=None)
    age = func.coalesce(TraceRow.timestamp, TraceRow.ingested_at)
    with store.engine.connect() as conn:
        old = conn.execute(
            select(TraceRow.id, TraceRow.trace_id).where(age < naive).order_by(TraceRow.id)
        ).all()
    ids = {row.trace_id for row in old}
    kept_by = _kept_by(store, ids)
    keep = set().union(*kept_by.values()) if kept_by else set()
    doomed = [row.id for row in old if row.trace_id not in keep]
    rows = _count_owned(store, doomed)
    if not dry_run:
        _delete(store, doomed)
    return RetentionReport(
        cutoff=cutoff.replace(tzinfo=UTC),
        dry_run=dry_run,
        older=len(old),
        deleted=len(doomed),
        kept=len(old) - len(doomed),
        kept_by={table: len(found) for table, found in sorted(kept_by.items()) if found},
        rows=rows,
    )


def _kept_by(store: Store, ids: set[str]) -> dict[str, set[str]]:
    """Per keeper table, the trace ids of ``ids`` that appear in it."""
    if not ids:
        return {}
    meta = MetaData()
    meta.reflect(store.engine)
    found: dict[str, set[str]] = {}
    with store.engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            if name in NOT_KEEPERS or name.startswith("sqlite_"):
                continue
            columns = [c for c in table.columns if _textual(c.type)]
            if not columns:
                continue
            hits: set[str] = set()
            for row in conn.execute(select(*columns)):
                for value in row:
                    hits.update(s for s in _strings(value) if s in ids)
            found[name] = hits
    return found


def _textual(kind: TypeEngine[Any]) -> bool:
    return isinstance(kind, String | Text | JSON)


def _strings(value: Any) -> Iterator[str]:
    """Every string in ``value``: itself, or, for JSON (parsed or as text), every key and
    string value at any depth."""
    if isinstance(value, str):
        yield value
        if value[:1] in ("{", "["):
            try:
                value = json.loads(value)
            except ValueError:
                return
        else:
            return
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _chunks(pks: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(pks), _CHUNK):
        yield pks[start : start + _CHUNK]


def _count_owned(store: Store, pks: list[int]) -> dict[str, int]:
    counts = {"traces": len(pks), **{table.__tablename__: 0 for table in OWNED}}
    with store.engine.connect() as conn:
        for chunk in _chunks(pks):
            for table in OWNED:
                counts[table.__tablename__] += conn.execute(
                    select(func.count()).select_from(table).where(table.trace_pk.in_(chunk))
                ).scalar_one()
    return counts


def _delete(store: Store, pks: list[int]) -> None:
    for chunk in _chunks(pks):
        with store.engine.begin() as conn:
            for table in OWNED:
                conn.execute(delete(table).where(table.trace_pk.in_(chunk)))
            conn.execute(delete(TraceRow).where(TraceRow.id.in_(chunk)))
    if pks:
        members = (
            select(func.count())
            .select_from(ClusterMemberRow)
            .where(ClusterMemberRow.cluster_id == ClusterRow.id)
            .scalar_subquery()
        )
        with store.engine.begin() as conn:
            conn.execute(update(ClusterRow).where(ClusterRow.active.is_(True)).values(size=members))
