"""Hash chains for append-only logs: each record's hash covers its fields and its
predecessor's hash, so editing or deleting any record breaks every hash after it.

Used by the app's decision audit log and by the eval sets' sign-off log.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from flywheel.store._tables import utcnow

#: The predecessor hash of a chain's first record.
GENESIS = "0" * 64


def _utc_text(moment: datetime) -> str:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def record_hash(
    *,
    id: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of a record's fields and its predecessor's hash."""
    canonical = json.dumps(
        {
            "id": id,
            "at": _utc_text(at),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append_record(
    conn: Connection,
    table: Any,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
) -> dict[str, Any]:
    """Append one record to ``table`` (columns id, at, actor, action, subject, detail,
    prev_hash, hash) inside the caller's transaction; its values."""
    head = conn.execute(select(table.id, table.hash).order_by(table.id.desc()).limit(1)).first()
    prev_hash, next_id = (head.hash, head.id + 1) if head else (GENESIS, 1)
    values: dict[str, Any] = {
        "id": next_id,
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": json.loads(json.dumps(detail, default=str)),
        "prev_hash": prev_hash,
    }
    values["hash"] = record_hash(**values)
    conn.execute(insert(table).values(**values))
    return values


def link_problem(record: Any, *, prev_hash: str, last_id: int) -> str | None:
    """None when ``record`` follows the record (``last_id``, ``prev_hash``) and its content
    matches its hash; else what is wrong with it."""
    if record.id != last_id + 1:
        return f"record {last_id + 1} is missing before record {record.id}"
    if record.prev_hash != prev_hash:
        return "its prev_hash does not match the previous record"
    expected = record_hash(
        id=record.id,
        at=record.at,
        actor=record.actor,
        action=record.action,
        subject=record.subject,
        detail=record.detail,
        prev_hash=record.prev_hash,
    )
    if record.hash != expected:
        return "its content does not match its hash (edited)"
    return None
