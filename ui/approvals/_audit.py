"""The append-only, hash-chained audit log of every human decision.

Each record's ``hash`` is SHA-256 over its own fields and the previous record's hash, so
editing, deleting or reordering any record breaks the chain from that record on, and
`verify_audit` names the first bad one. ``prev_hash`` is unique in the table: two writers that
race for the same predecessor cannot fork the chain; the loser retries on the new head.

A consistent chain can still have been cut short or rehashed wholesale, so `verify_audit` also
checks the chain's anchors (`flywheel.chain`): the MAC'd head in the project's data folder,
and every ``Flywheel-Audit-Head`` trailer the ships wrote into the configuration repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from flywheel.chain import (
    GENESIS,
    ChainAnchors,
    ChainRecord,
    Head,
    append_record,
    head_of,
    link_problem,
    record_at,
)
from flywheel.datasets._tables import DatasetAuditRow
from flywheel.errors import UserError
from flywheel.store import Store
from ui.approvals._git import trailer_values
from ui.approvals._rules import Forbidden
from ui.approvals._users import Role, User
from ui.approvals.tables import AuditRecordRow

_RETRIES = 5


#: One record of the decisions' log (the core's hash-chained record).
AuditRecord = ChainRecord


class AuditCheck(BaseModel):
    """The result of `verify_audit`: ``ok``, or the first bad record and why."""

    ok: bool
    records: int
    first_bad_id: int | None = None
    reason: str | None = None


def append_audit(
    conn: Connection, *, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> AuditRecord:
    """Append one record inside the caller's transaction (so it commits with the decision)."""
    return append_record(
        conn, AuditRecordRow, actor=actor, action=action, subject=subject, detail=detail
    )


def record_event(
    store: Store, *, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None
) -> AuditRecord:
    """Append one record in its own transaction, retrying when another writer won the race."""
    for attempt in range(_RETRIES):
        try:
            with store.engine.begin() as conn:
                return append_audit(
                    conn, actor=actor, action=action, subject=subject, detail=detail or {}
                )
        except IntegrityError:
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def audit_records(
    store: Store,
    *,
    limit: int = 50,
    offset: int = 0,
    subject: str | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> list[AuditRecord]:
    """Newest first, one page; optionally only one subject's, actor's or action's records."""
    query = select(AuditRecordRow).order_by(AuditRecordRow.id.desc()).limit(limit).offset(offset)
    if subject is not None:
        query = query.where(AuditRecordRow.subject == subject)
    if actor is not None:
        query = query.where(AuditRecordRow.actor == actor)
    if action is not None:
        query = query.where(AuditRecordRow.action == action.replace(" ", "_"))
    with store.engine.connect() as conn:
        rows = conn.execute(query)
        return [AuditRecord.model_validate(row, from_attributes=True) for row in rows]


AUDIT_HEAD_TRAILER = "Flywheel-Audit-Head"


def verify_audit(
    store: Store,
    *,
    anchors: ChainAnchors | None = None,
    repo: str | None = None,
    batch: int = 5000,
) -> AuditCheck:
    """Walk the chain in id order (the first record whose links or hash do not hold is bad),
    then check it against its anchors: the ``anchors`` file and the ship trailers in
    ``repo`` (the configuration repository), when given."""
    check = _walk(store, batch)
    if not check.ok:
        return check
    with store.engine.connect() as conn:
        problem = anchors.problem(conn, AuditRecordRow) if anchors is not None else None
        if problem is None and repo is not None:
            problem = _trailer_problem(conn, repo)
    if problem is not None:
        return AuditCheck(ok=False, records=check.records, reason=problem)
    return check


def _trailer_problem(conn: Connection, repo: str) -> str | None:
    for value in trailer_values(repo, AUDIT_HEAD_TRAILER):
        number, _, digest = value.partition(" ")
        if not number.isdigit() or len(digest) != 64:
            return f"{repo}: malformed {AUDIT_HEAD_TRAILER} trailer '{value}'"
        head = Head(id=int(number), hash=digest)
        stored = record_at(conn, AuditRecordRow, head.id)
        if stored is None:
            return (
                f"record {head.id} is named by a ship commit's {AUDIT_HEAD_TRAILER} in {repo} "
                "but is not in the audit log: records were deleted (truncated)"
            )
        if stored.hash != head.hash:
            return (
                f"record {head.id}'s hash differs from the one a ship commit recorded in {repo}: "
                "the chain was rewritten (rehashed)"
            )
    return None


def _walk(store: Store, batch: int) -> AuditCheck:
    prev_hash, count, last_id = GENESIS, 0, 0
    while True:
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(AuditRecordRow)
                .where(AuditRecordRow.id > last_id)
                .order_by(AuditRecordRow.id)
                .limit(batch)
            ).all()
        if not rows:
            return AuditCheck(ok=True, records=count)
        for row in rows:
            count += 1
            problem = link_problem(row, prev_hash=prev_hash, last_id=last_id)
            if problem is not None:
                return _bad(count, row.id, problem)
            prev_hash, last_id = row.hash, row.id


def _bad(count: int, record_id: int, reason: str) -> AuditCheck:
    return AuditCheck(ok=False, records=count, first_bad_id=record_id, reason=reason)


def anchor_chains(store: Store, data_dir: Path, admin: User) -> dict[str, Head]:
    """Anchor the audit and dataset chains' current heads (an admin; the chains must verify).

    For a project from before anchors, or a new key: this accepts the chains as they are now,
    so it refuses when the audit chain itself is broken.
    """
    if not admin.may(Role.admin):
        raise Forbidden(f"{admin.name} is a {admin.role.value}; re-anchoring needs an admin")
    heads: dict[str, Head] = {}
    with store.engine.connect() as conn:
        for table in (AuditRecordRow, DatasetAuditRow):
            head = head_of(conn, table)
            if head is not None:
                heads[table.__tablename__] = head
    problem = verify_audit(store)
    if not problem.ok:
        raise UserError(f"the audit chain itself is broken ({problem.reason}); not anchoring it")
    ChainAnchors(data_dir).advance(heads, force=True)
    record_event(store, actor=admin.name, action="anchor", subject="chains", detail={})
    return heads
