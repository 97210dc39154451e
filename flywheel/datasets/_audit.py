"""The datasets' own append-only, hash-chained audit log (sign-offs, holdout freezes).

Why not the app's audit log (``ui/approvals/_audit.py``)? The core may not import the ui
layer, and a sign-off passed in as a callable could be skipped by any caller of the core API or the
`flywheel datasets` CLI. A core table keeps the rule enforceable where the change happens:
the sign-off record is appended in the same transaction as the change it allows. Both logs
hash their records with `flywheel.chain` (``prev_hash`` unique so racing writers cannot fork
the chain), so one verifier design covers both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from flywheel.chain import GENESIS, ChainRecord, append_record, link_problem
from flywheel.datasets._tables import DatasetAuditRow


def append_entry(
    conn: Connection, *, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> ChainRecord:
    """Append one entry inside the caller's transaction (it commits with the change)."""
    return append_record(
        conn, DatasetAuditRow, actor=actor, action=action, subject=subject, detail=detail
    )


def audit_entries(conn: Connection) -> list[ChainRecord]:
    rows = conn.execute(select(DatasetAuditRow).order_by(DatasetAuditRow.id))
    return [ChainRecord.model_validate(row, from_attributes=True) for row in rows]


def chain_problem(entries: list[ChainRecord]) -> str | None:
    """None when the chain holds, else what is wrong with the first bad entry."""
    prev_hash, last_id = GENESIS, 0
    for entry in entries:
        problem = link_problem(entry, prev_hash=prev_hash, last_id=last_id)
        if problem is not None:
            return f"audit entry {entry.id}: {problem}"
        prev_hash, last_id = entry.hash, entry.id
    return None
