"""Writing ingested batches: new traces, duplicates, changed versions, quarantined records.

A batch is one transaction, so a crash loses at most the batch in flight, and that batch was
never reported stored; the rerun finds what was committed and counts it as duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert, literal, select, update

from flywheel.formats import Parsed, Rejected
from flywheel.store._codec import encode_payload
from flywheel.store._tables import IngestionRun, QuarantineRow, TraceRow, TraceVersion, utcnow
from flywheel.trace import content_digest

PREVIEW_CHARS = 300
#: Raw text kept per quarantined record; the reason says when it was cut.
QUARANTINE_RAW_LIMIT = 1024 * 1024


@dataclass
class IngestCounts:
    """Counts of one ingest; ``read == stored + updated + duplicates + quarantined`` always."""

    read: int = 0
    stored: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: Files in the folders named that no reader takes, each with why.
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: Each file read, the format it was read as, and why that one.
    files: list[dict[str, str]] = field(default_factory=list)
    #: Things stored but worth a look: values read as a known meaning, scores that look
    #: inverted. One line each, no repeats.
    warnings: list[str] = field(default_factory=list)

    def add(self, other: IngestCounts) -> None:
        self.read += other.read
        self.stored += other.stored
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.errors.extend(other.errors)
        self.skipped.extend(other.skipped)
        self.files.extend(other.files)
        self.warnings.extend(w for w in other.warnings if w not in self.warnings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "stored": self.stored,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "errors": self.errors,
            "files": self.files,
            "skipped": self.skipped,
            "warnings": self.warnings,
        }


def _utc(moment: datetime | None) -> datetime | None:
    """Timestamps are stored in UTC (SQLite keeps no offset); a naive one is taken as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class PreparedTrace:
    """A trace reduced to its database row: the CPU-heavy part, done off the writer's path."""

    trace_id: str
    content_hash: str
    columns: dict[str, Any]


def prepare_trace(parsed: Parsed) -> PreparedTrace | Rejected:
    """Serialise, hash and summarise one trace; a trace JSON cannot hold is rejected."""
    trace = parsed.trace
    try:
        payload = trace.to_json()
    except (TypeError, orjson.JSONEncodeError) as exc:  # e.g. an integer over 64 bits
        return Rejected(parsed.file, parsed.line, f"cannot be stored as JSON: {exc}")
    return PreparedTrace(
        trace.trace_id,
        content_digest(payload),
        {
            "session_id": trace.session_id,
            "timestamp": _utc(trace.timestamp),
            "input_preview": trace.input_text[:PREVIEW_CHARS],
            "route": trace.route,
            "latency_ms": trace.latency_ms,
            "cost_usd": trace.cost_usd,
            "tool_calls": trace.tool_calls,
            "error_count": len(trace.errors),
            "payload": encode_payload(payload),
        },
    )


def write_batch(
    conn: Connection,
    *,
    run_id: int,
    source: str,
    prepared: list[PreparedTrace],
    rejected: list[Rejected],
) -> IngestCounts:
    """Store one batch in the caller's transaction and return its counts.

    A trace id must appear at most once in ``prepared``: the caller starts a new batch when
    an id repeats, so that a second, changed copy in the same file becomes a new version.
    """
    counts = IngestCounts(read=len(prepared) + len(rejected))
    ids = [item.trace_id for item in prepared]
    existing: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(TraceRow.id, TraceRow.trace_id, TraceRow.content_hash, TraceRow.version).where(
                TraceRow.source == source, TraceRow.trace_id.in_(ids[start : start + 500])
            )
        )
        existing.update((row.trace_id, row) for row in rows)

    now: datetime = utcnow()
    new_rows: list[dict[str, Any]] = []
    changed: list[tuple[Any, dict[str, Any]]] = []
    for item in prepared:
        current = existing.get(item.trace_id)
        if current is not None and current.content_hash == item.content_hash:
            counts.duplicates += 1
            continue
        row = {
            **item.columns,
            "source": source,
            "trace_id": item.trace_id,
            "content_hash": item.content_hash,
            "version": 1 if current is None else current.version + 1,
            "ingestion_run_id": run_id,
            "ingested_at": now,
            "failing": None,
            "failure_score": None,
        }
        if current is None:
            new_rows.append(row)
        else:
            changed.append((current, row))
    if new_rows:
        conn.execute(insert(TraceRow), new_rows)
        counts.stored = len(new_rows)
    for current, row in changed:
        # Changed content: keep the previous version, then replace it.
        conn.execute(
            insert(TraceVersion).from_select(
                ["trace_pk", "version", "content_hash", "payload", "replaced_at"],
                select(
                    TraceRow.id,
                    TraceRow.version,
                    TraceRow.content_hash,
                    TraceRow.payload,
                    literal(now),
                ).where(TraceRow.id == current.id),
            )
        )
        conn.execute(update(TraceRow).where(TraceRow.id == current.id).values(**row))
    counts.updated = len(changed)

    if rejected:
        conn.execute(insert(QuarantineRow), [_quarantine_row(run_id, r) for r in rejected])
        counts.quarantined = len(rejected)
        counts.errors = [
            {"file": r.file, "line": r.line, "field": r.field, "reason": r.reason} for r in rejected
        ]
    conn.execute(
        update(IngestionRun)
        .where(IngestionRun.id == run_id)
        .values(
            read=IngestionRun.read + counts.read,
            stored=IngestionRun.stored + counts.stored,
            updated=IngestionRun.updated + counts.updated,
            duplicates=IngestionRun.duplicates + counts.duplicates,
            quarantined=IngestionRun.quarantined + counts.quarantined,
        )
    )
    return counts


def _quarantine_row(run_id: int, rejected: Rejected) -> dict[str, Any]:
    raw, reason = rejected.raw, rejected.reason
    if len(raw) > QUARANTINE_RAW_LIMIT:
        reason = f"{reason} (raw text cut to its first {QUARANTINE_RAW_LIMIT} of {len(raw)} bytes)"
        raw = raw[:QUARANTINE_RAW_LIMIT]
    return {
        "run_id": run_id,
        "file": rejected.file,
        "line": rejected.line,
        "field": rejected.field,
        "reason": reason,
        "raw": encode_payload(raw),
        "created_at": utcnow(),
    }
