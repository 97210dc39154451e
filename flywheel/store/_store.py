"""`Store`: the one object through which the packages read and write the database."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from flywheel.errors import UserError
from flywheel.formats import Rejected
from flywheel.store._codec import InvalidStoredTrace, decode_payload, decode_trace
from flywheel.store._db import create_store_engine, is_migrated, migrate, safe_url, unavailable
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

#: A "running" ingestion run that has not committed a batch for this long is abandoned.
STALE_RUN_AFTER = timedelta(minutes=30)


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
    #: Why the trace's timestamp is not in the store's timestamp column (outside the window).
    timestamp_flag: str | None = None


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
    #: Why the trace's own timestamp was left out of ``timestamp`` (outside the ingest window).
    timestamp_flag: str | None = None


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
        try:
            if create:
                migrate(store.engine)
            elif not is_migrated(store.engine):
                raise UserError(
                    f"no Flywheel database at {safe_url(url)}; run `flywheel init` first"
                )
        except DBAPIError as exc:
            store.close()
            raise unavailable(url, exc) from None
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- ingestion -------------------------------------------------------------------------

    def start_run(self, paths: Sequence[str]) -> int:
        now = utcnow()
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(IngestionRun).values(
                    paths={"paths": list(paths)},
                    started_at=now,
                    heartbeat_at=now,
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                )
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

    def ingestion_runs(
        self, limit: int = 20, *, stale_after: timedelta = STALE_RUN_AFTER
    ) -> list[dict[str, Any]]:
        """The latest runs, newest first; "running" runs found dead are marked abandoned first."""
        self.settle_abandoned_runs(stale_after)
        with self.engine.connect() as conn:
            rows = conn.execute(select(IngestionRun).order_by(IngestionRun.id.desc()).limit(limit))
            return [dict(row._mapping) for row in rows]

    def settle_abandoned_runs(self, stale_after: timedelta = STALE_RUN_AFTER) -> int:
        """Mark "running" runs whose process is gone as "abandoned"; how many were.

        A run is gone when it ran on this host and its pid is no longer alive (a ``kill -9``,
        a power cut), or, from any host, when it has not committed a batch for ``stale_after``.
        Its counts stay as they were: they are what it committed.
        """
        now = utcnow()
        here = socket.gethostname()[:255]
        with self.engine.begin() as conn:
            running = conn.execute(
                select(
                    IngestionRun.id,
                    IngestionRun.host,
                    IngestionRun.pid,
                    IngestionRun.heartbeat_at,
                    IngestionRun.started_at,
                ).where(IngestionRun.status == "running")
            ).all()
            dead = [
                row.id
                for row in running
                if (row.host == here and row.pid is not None and not _alive(row.pid))
                or now - _utc(row.heartbeat_at or row.started_at) > stale_after
            ]
            if dead:
                conn.execute(
                    update(IngestionRun)
                    .where(IngestionRun.id.in_(dead), IngestionRun.status == "running")
                    .values(status="abandoned", finished_at=IngestionRun.heartbeat_at)
                )
        return len(dead)

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
        try:
            return _stored(rows[0])
        except InvalidStoredTrace as exc:
            self.quarantine_stored(rows[0].id, exc)
            raise UserError(
                f"trace '{trace_id}' no longer reads back ({exc}); it was moved to the "
                "quarantine (`flywheel quarantine`)"
            ) from None

    def trace_versions(self, pk: int) -> list[tuple[int, Trace]]:
        """The earlier versions of a trace that still read back (history is never repaired)."""
        versions = []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(TraceVersion.version, TraceVersion.payload)
                .where(TraceVersion.trace_pk == pk)
                .order_by(TraceVersion.version)
            )
            for row in rows:
                try:
                    versions.append((row.version, decode_trace(row.payload)))
                except InvalidStoredTrace:
                    continue
        return versions

    def list_traces(
        self,
        *,
        failing: bool | None = None,
        flagged: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[TraceSummary]:
        """Traces in insertion order; ``flagged``: only those with a flagged timestamp."""
        query = select(*[getattr(TraceRow, f) for f in _SUMMARY_FIELDS]).order_by(TraceRow.id)
        if failing is not None:
            query = query.where(TraceRow.failing.is_(failing))
        if flagged:
            query = query.where(TraceRow.timestamp_flag.is_not(None))
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
                try:
                    yield _stored(row)
                except InvalidStoredTrace as exc:
                    self.quarantine_stored(row.id, exc)
            last = rows[-1].id

    def count_traces(self, *, failing: bool | None = None, flagged: bool = False) -> int:
        query = select(func.count()).select_from(TraceRow)
        if failing is not None:
            query = query.where(TraceRow.failing.is_(failing))
        if flagged:
            query = query.where(TraceRow.timestamp_flag.is_not(None))
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

    def quarantine_stored(self, pk: int, problem: InvalidStoredTrace) -> None:
        """Move a stored trace that no longer reads back into the quarantine, payload and all.

        The run that wrote it then counts it as quarantined instead of stored (or updated),
        so its counts still add up; its signals and earlier versions go with the row.
        """
        with self.engine.begin() as conn:
            row = conn.execute(
                select(
                    TraceRow.source,
                    TraceRow.trace_id,
                    TraceRow.version,
                    TraceRow.payload,
                    TraceRow.ingestion_run_id,
                ).where(TraceRow.id == pk)
            ).first()
            if row is None:  # another reader moved it already
                return
            conn.execute(
                insert(QuarantineRow).values(
                    run_id=row.ingestion_run_id,
                    file=f"stored trace {row.source}/{row.trace_id}"[:1000],
                    line=None,
                    field=problem.field,
                    reason=f"stored before it had to read back, and does not: {problem.reason}",
                    raw=row.payload,
                    created_at=utcnow(),
                )
            )
            conn.execute(delete(TraceRow).where(TraceRow.id == pk))
            if row.ingestion_run_id is not None:
                counted = IngestionRun.stored if row.version == 1 else IngestionRun.updated
                conn.execute(
                    update(IngestionRun)
                    .where(IngestionRun.id == row.ingestion_run_id)
                    .values({counted: counted - 1, "quarantined": IngestionRun.quarantined + 1})
                )

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
    "timestamp_flag",
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    except OSError:
        return False
    return True


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stored(row: Any) -> StoredTrace:
    trace = decode_trace(row.payload)
    return StoredTrace(
        pk=row.id,
        source=row.source,
        version=row.version,
        failing=row.failing,
        failure_score=row.failure_score,
        ingested_at=row.ingested_at,
        trace=trace,
        timestamp_flag=row.timestamp_flag,
    )
