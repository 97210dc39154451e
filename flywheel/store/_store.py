"""`Store`: the one object through which the packages read and write the database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from flywheel.errors import UserError
from flywheel.formats import Rejected
from flywheel.store._codec import decode_payload
from flywheel.store._db import create_store_engine, is_migrated, migrate
from flywheel.store._ingest import IngestCounts, PreparedTrace, write_batch
from flywheel.store._tables import (
    IngestionRun,
    QuarantineRow,
    SignalRow,
    TraceRow,
    TraceVersion,
    utcnow,
)
from flywheel.trace import FailureSignal, Trace


@dataclass(frozen=True)
class StoredTrace:
    """A trace as stored, with its storage facts."""

    pk: int
    source: str
    version: int
    failing: bool | None
    failure_score: float | None
    ingested_at: datetime
    trace: Trace


@dataclass(frozen=True)
class TraceSummary:
    pk: int
    source: str
    trace_id: str
    session_id: str | None
    timestamp: datetime | None
    input_preview: str
    route: str | None
    latency_ms: float | None
    tool_calls: int
    error_count: int
    failing: bool | None
    failure_score: float | None


@dataclass(frozen=True)
class QuarantinedRecord:
    id: int
    run_id: int | None
    file: str
    line: int | None
    field: str | None
    reason: str
    raw: bytes
    created_at: datetime


class Store:
    """The trace store on one database (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> Store:
        """Open the database at ``url``, migrating it to the newest schema when ``create``."""
        store = cls(create_store_engine(url))
        if create:
            migrate(store.engine)
        elif not is_migrated(store.engine):
            raise UserError(f"no Flywheel database at {url}; run `flywheel init` first")
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- ingestion -------------------------------------------------------------------------

    def start_run(self, paths: Sequence[str]) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(IngestionRun).values(paths={"paths": list(paths)}, started_at=utcnow())
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def write_batch(
        self, run_id: int, source: str, prepared: list[PreparedTrace], rejected: list[Rejected]
    ) -> IngestCounts:
        """Store one batch of prepared traces and rejected records in one transaction."""
        with self.engine.begin() as conn:
            return write_batch(
                conn, run_id=run_id, source=source, prepared=prepared, rejected=rejected
            )

    def finish_run(self, run_id: int, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(IngestionRun)
                .where(IngestionRun.id == run_id)
                .values(status=status, finished_at=utcnow())
            )

    def ingestion_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(IngestionRun).order_by(IngestionRun.id.desc()).limit(limit))
            return [dict(row._mapping) for row in rows]

    # -- traces ----------------------------------------------------------------------------

    def get_trace(self, trace_id: str, source: str | None = None) -> StoredTrace:
        query = select(TraceRow).where(TraceRow.trace_id == trace_id)
        if source is not None:
            query = query.where(TraceRow.source == source)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(2)).all()
        if not rows:
            raise UserError(f"no trace '{trace_id}'; list them with `flywheel traces list`")
        if len(rows) > 1:
            sources = ", ".join(row.source for row in rows)
            raise UserError(
                f"trace id '{trace_id}' exists in several sources ({sources}); pass --source"
            )
        return _stored(rows[0])

    def trace_versions(self, pk: int) -> list[tuple[int, Trace]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(TraceVersion.version, TraceVersion.payload)
                .where(TraceVersion.trace_pk == pk)
                .order_by(TraceVersion.version)
            )
            return [
                (row.version, Trace.model_validate_json(decode_payload(row.payload)))
                for row in rows
            ]

    def list_traces(
        self, *, failing: bool | None = None, limit: int = 50, offset: int = 0
    ) -> list[TraceSummary]:
        query = select(*[getattr(TraceRow, f) for f in _SUMMARY_FIELDS]).order_by(TraceRow.id)
        if failing is not None:
            query = query.where(TraceRow.failing.is_(failing))
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset))
            return [
                TraceSummary(pk=row.id, **{f: getattr(row, f) for f in _SUMMARY_FIELDS[1:]})
                for row in rows
            ]

    def iter_traces(
        self, *, failing: bool | None = None, pks: Sequence[int] | None = None, batch: int = 1000
    ) -> Iterator[StoredTrace]:
        """Every stored trace (current version), in insertion order, read in pages."""
        last = 0
        while True:
            query = select(TraceRow).where(TraceRow.id > last).order_by(TraceRow.id).limit(batch)
            if failing is not None:
                query = query.where(TraceRow.failing.is_(failing))
            if pks is not None:
                query = query.where(TraceRow.id.in_(pks))
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield _stored(row)
            last = rows[-1].id

    def count_traces(self, *, failing: bool | None = None) -> int:
        query = select(func.count()).select_from(TraceRow)
        if failing is not None:
            query = query.where(TraceRow.failing.is_(failing))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def count_traces_unevaluated(self) -> int:
        """Traces whose failure signals have not been derived yet."""
        query = select(func.count()).select_from(TraceRow).where(TraceRow.failing.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- signals ---------------------------------------------------------------------------

    def signals_of(self, pk: int) -> list[FailureSignal]:
        return self.signals_by_trace([pk]).get(pk, [])

    def signals_by_trace(self, pks: Sequence[int]) -> dict[int, list[FailureSignal]]:
        """The stored failure signals of each trace in ``pks`` (absent: none), in order."""
        found: dict[int, list[FailureSignal]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(pks), 500):
                chunk = list(pks[start : start + 500])
                query = select(SignalRow).where(SignalRow.trace_pk.in_(chunk))
                for row in conn.execute(query.order_by(SignalRow.id)):
                    found.setdefault(row.trace_pk, []).append(
                        FailureSignal(
                            kind=row.kind,
                            strength=row.strength,
                            evidence=row.evidence,
                            step_id=row.step_id,
                            detail=row.detail,
                        )
                    )
        return found

    def signal_counts(self) -> dict[str, dict[str, float]]:
        """Per signal kind: how many signals, on how many traces, and their mean strength."""
        query = select(
            SignalRow.kind,
            func.count(),
            func.count(func.distinct(SignalRow.trace_pk)),
            func.avg(SignalRow.strength),
        ).group_by(SignalRow.kind)
        with self.engine.connect() as conn:
            return {
                kind: {"signals": n, "traces": traces, "mean_strength": round(float(mean), 3)}
                for kind, n, traces, mean in conn.execute(query)
            }

    # -- quarantine --------------------------------------------------------------------------

    def quarantined(
        self, *, limit: int = 100, run_id: int | None = None
    ) -> list[QuarantinedRecord]:
        query = select(QuarantineRow).order_by(QuarantineRow.id).limit(limit)
        if run_id is not None:
            query = query.where(QuarantineRow.run_id == run_id)
        with self.engine.connect() as conn:
            return [
                QuarantinedRecord(
                    id=row.id,
                    run_id=row.run_id,
                    file=row.file,
                    line=row.line,
                    field=row.field,
                    reason=row.reason,
                    raw=decode_payload(row.raw),
                    created_at=row.created_at,
                )
                for row in conn.execute(query)
            ]

    def count_quarantined(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(QuarantineRow)).scalar_one())


_SUMMARY_FIELDS = (
    "id",
    "source",
    "trace_id",
    "session_id",
    "timestamp",
    "input_preview",
    "route",
    "latency_ms",
    "tool_calls",
    "error_count",
    "failing",
    "failure_score",
)


def _stored(row: Any) -> StoredTrace:
    trace = Trace.model_validate_json(decode_payload(row.payload))
    return StoredTrace(
        pk=row.id,
        source=row.source,
        version=row.version,
        failing=row.failing,
        failure_score=row.failure_score,
        ingested_at=row.ingested_at,
        trace=trace,
    )
