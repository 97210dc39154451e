"""Writing ingested batches: new traces, duplicates, changed versions, quarantined records.

A batch is one transaction, so a crash loses at most the batch in flight, and that batch was
never reported stored; the rerun finds what was committed and counts it as duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from flywheel.formats import Parsed, Rejected
from flywheel.store._codec import encode_payload
from flywheel.store._tables import IngestionRun, QuarantineRow, TraceRow, TraceVersion, utcnow
from flywheel.trace import Trace, content_digest

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

    def add(self, other: IngestCounts) -> None:
        self.read += other.read
        self.stored += other.stored
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.errors.extend(other.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "stored": self.stored,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "errors": self.errors,
        }


def _utc(moment: datetime | None) -> datetime | None:
    """Timestamps are stored in UTC (SQLite keeps no offset); a naive one is taken as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _row(
    trace: Trace, source: str, run_id: int, content_hash: str, payload: bytes
) -> dict[str, Any]:
    return {
        "source": source,
        "trace_id": trace.trace_id,
        "content_hash": content_hash,
        "version": 1,
        "session_id": trace.session_id,
        "timestamp": _utc(trace.timestamp),
        "input_preview": trace.input_text[:PREVIEW_CHARS],
        "route": trace.route,
        "latency_ms": trace.latency_ms,
        "cost_usd": trace.cost_usd,
        "tool_calls": trace.tool_calls,
        "error_count": len(trace.errors),
        "payload": encode_payload(payload),
        "ingestion_run_id": run_id,
        "ingested_at": utcnow(),
        "failing": None,
        "failure_score": None,
    }


def write_batch(
    conn: Connection,
    *,
    run_id: int,
    source: str,
    parsed: list[Parsed],
    rejected: list[Rejected],
) -> IngestCounts:
    """Store one batch in the caller's transaction and return its counts.

    A trace id must appear at most once in ``parsed``: the caller starts a new batch when an
    id repeats, so that a second, changed copy in the same file becomes a new version.
    """
    counts = IngestCounts(read=len(parsed) + len(rejected))
    rejected = list(rejected)
    storable: list[tuple[Trace, bytes]] = []
    for item in parsed:
        try:
            storable.append((item.trace, item.trace.to_json()))
        except (TypeError, orjson.JSONEncodeError) as exc:  # e.g. an integer over 64 bits
            rejected.append(Rejected(item.file, item.line, f"cannot be stored as JSON: {exc}"))
    ids = list({trace.trace_id for trace, _ in storable})
    existing: dict[str, dict[str, Any]] = {}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        rows = conn.execute(
            select(
                TraceRow.id,
                TraceRow.trace_id,
                TraceRow.content_hash,
                TraceRow.version,
                TraceRow.payload,
            ).where(TraceRow.source == source, TraceRow.trace_id.in_(chunk))
        )
        for row in rows:
            existing[row.trace_id] = dict(row._mapping)

    new_rows: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    now: datetime = utcnow()
    for trace, payload in storable:
        digest = content_digest(payload)
        current = existing.get(trace.trace_id)
        if current is not None and current["content_hash"] == digest:
            counts.duplicates += 1
            continue
        new = _row(trace, source, run_id, digest, payload)
        if current is None:
            new_rows.append(new)
            counts.stored += 1
            continue
        # Changed content: keep the previous version, then replace it.
        versions.append(
            {
                "trace_pk": current["id"],
                "version": current["version"],
                "content_hash": current["content_hash"],
                "payload": current["payload"],
                "replaced_at": now,
            }
        )
        new["version"] = current["version"] + 1
        conn.execute(update(TraceRow).where(TraceRow.id == current["id"]).values(**new))
        counts.updated += 1
    if new_rows:
        conn.execute(insert(TraceRow), new_rows)
    if versions:
        conn.execute(insert(TraceVersion), versions)

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
