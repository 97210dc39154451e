"""The datasets' own append-only, hash-chained audit log (sign-offs, holdout freezes).

Why not the app's audit log (``ui/_audit.py``)? The core may not import the ui layer, and a
sign-off passed in as a callable could be skipped by any caller of the core API or the
`flywheel datasets` CLI. A core table keeps the rule enforceable where the change happens:
the sign-off record is appended in the same transaction as the change it allows. Both logs
hash their records with `flywheel.chain` (``prev_hash`` unique so racing writers cannot fork
the chain), so one verifier design covers both.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, insert, select

from flywheel.chain import GENESIS, record_hash
from flywheel.datasets._tables import DatasetAuditRow
from flywheel.store._tables import utcnow


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def append_entry(
    conn: Connection, *, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> AuditEntry:
    """Append one entry inside the caller's transaction (it commits with the change)."""
    head = conn.execute(
        select(DatasetAuditRow.id, DatasetAuditRow.hash)
        .order_by(DatasetAuditRow.id.desc())
        .limit(1)
    ).first()
    prev_hash, next_id = (head.hash, head.id + 1) if head else (GENESIS, 1)
    at = utcnow()
    clean = json.loads(json.dumps(detail, default=str))
    digest = record_hash(
        id=next_id,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail=clean,
        prev_hash=prev_hash,
    )
    values = {
        "id": next_id,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": clean,
        "prev_hash": prev_hash,
        "hash": digest,
    }
    conn.execute(insert(DatasetAuditRow).values(**values))
    return AuditEntry.model_validate(values)


def audit_entries(conn: Connection) -> list[AuditEntry]:
    rows = conn.execute(select(DatasetAuditRow).order_by(DatasetAuditRow.id))
    return [AuditEntry.model_validate(row, from_attributes=True) for row in rows]


def chain_problem(entries: list[AuditEntry]) -> str | None:
    """None when the chain holds, else what is wrong with the first bad entry."""
    prev_hash, last_id = GENESIS, 0
    for entry in entries:
        if entry.id != last_id + 1:
            return f"audit entry {last_id + 1} is missing before entry {entry.id}"
        if entry.prev_hash != prev_hash:
            return f"audit entry {entry.id}: prev_hash does not match the previous entry"
        expected = record_hash(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            detail=entry.detail,
            prev_hash=entry.prev_hash,
        )
        if entry.hash != expected:
            return f"audit entry {entry.id}: content does not match its hash (edited)"
        prev_hash, last_id = entry.hash, entry.id
    return None
