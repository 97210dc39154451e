"""Eval sets by role: cases in and out, versions by content hash, the blocking set's sign-off.

Each case lives in one role; a role's set is its cases. After every change, each touched
role gets a new version when its content hash (case digests + thresholds) moved; old
versions stay. A change to the blocking set or its thresholds is refused without the sign-off
of an owner named in ``[datasets] owners``; the sign-off is appended to the hash-chained
audit log in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from flywheel.config import DatasetsConfig
from flywheel.datasets._audit import append_entry
from flywheel.datasets._models import (
    LADDER,
    EvalCase,
    Expected,
    Origin,
    Role,
    SetVersion,
    SignOff,
    Tag,
)
from flywheel.datasets._tables import EvalCaseRow, EvalSetVersionRow
from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import utcnow
from flywheel.trace import content_digest


class SignOffRequired(UserError):
    """A change to the blocking set (or its thresholds) came without an owner's sign-off."""


class HoldoutProtected(UserError):
    """The holdout was read or changed outside the `HoldoutGuard`."""


def case_id_for(trace_id: str, source: str | None) -> str:
    """One case per stored trace: a stable id from (source, trace id)."""
    return "case-" + content_digest(f"{source or ''}\x00{trace_id}".encode())[:16]


def _roles_text() -> str:
    return ", ".join(role.value for role in Role)


def parse_role(value: str | Role) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise UserError(f"unknown role '{value}'; valid: {_roles_text()}") from None


def parse_tags(values: Iterable[str | Tag]) -> tuple[Tag, ...]:
    tags: set[Tag] = set()
    for value in values:
        try:
            tags.add(Tag(value))
        except ValueError:
            valid = ", ".join(tag.value for tag in Tag)
            raise UserError(f"unknown tag '{value}'; valid: {valid}") from None
    return tuple(sorted(tags))


# -- rows <-> cases ------------------------------------------------------------------------------


def row_to_case(row: Any) -> EvalCase:
    return EvalCase.model_validate(
        {
            **row.body,
            "case_id": row.case_id,
            "role": row.role,
            "added_by": row.added_by,
            "added_at": row.added_at,
        }
    )


def load_cases(conn: Connection, role: Role | None = None) -> list[EvalCase]:
    """Cases of one role, or of every role but the holdout (internal: no guard here)."""
    query = select(EvalCaseRow).order_by(EvalCaseRow.case_id)
    query = query.where(
        EvalCaseRow.role == role.value if role else EvalCaseRow.role != Role.holdout.value
    )
    return [row_to_case(row) for row in conn.execute(query)]


def find_case(conn: Connection, case_id: str) -> EvalCase | None:
    row = conn.execute(select(EvalCaseRow).where(EvalCaseRow.case_id == case_id)).first()
    return row_to_case(row) if row else None


def write_case(conn: Connection, case: EvalCase) -> None:
    """Insert or replace a case's row (its digest recomputed from the body)."""
    body = case.body()
    values = {
        "role": case.role.value,
        "body": body,
        "digest": case.digest,
        "trace_id": case.origin.trace_id,
        "cluster_id": case.origin.cluster_id,
        "added_by": case.added_by,
        "added_at": case.added_at,
        "updated_at": utcnow(),
    }
    exists = conn.execute(
        select(EvalCaseRow.case_id).where(EvalCaseRow.case_id == case.case_id)
    ).first()
    if exists:
        conn.execute(update(EvalCaseRow).where(EvalCaseRow.case_id == case.case_id).values(values))
    else:
        conn.execute(insert(EvalCaseRow).values(case_id=case.case_id, **values))


# -- versions ------------------------------------------------------------------------------------


def role_hash(role: Role, members: Mapping[str, str], thresholds: Mapping[str, float]) -> str:
    body = {"role": role.value, "cases": dict(members), "thresholds": dict(thresholds)}
    return content_digest(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))


def current_members(conn: Connection, role: Role) -> dict[str, str]:
    rows = conn.execute(
        select(EvalCaseRow.case_id, EvalCaseRow.digest).where(EvalCaseRow.role == role.value)
    )
    return {str(case_id): str(digest) for case_id, digest in rows.all()}


def _latest_row(conn: Connection, role: Role) -> Any:
    return conn.execute(
        select(EvalSetVersionRow)
        .where(EvalSetVersionRow.role == role.value)
        .order_by(EvalSetVersionRow.version.desc())
        .limit(1)
    ).first()


def _version(row: Any) -> SetVersion:
    return SetVersion(
        role=Role(row.role),
        version=row.version,
        content_hash=row.content_hash,
        size=row.size,
        thresholds=dict(row.members.get("thresholds", {})),
        actor=row.actor,
        reason=row.reason,
        signoff_id=row.signoff_id,
        created_at=row.created_at,
    )


def record_version(
    conn: Connection,
    role: Role,
    *,
    actor: str,
    reason: str,
    signoff_id: int | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> SetVersion | None:
    """A new version of ``role`` if its content changed since the last one; else None."""
    latest = _latest_row(conn, role)
    if thresholds is None:
        thresholds = dict(latest.members.get("thresholds", {})) if latest else {}
    members = current_members(conn, role)
    digest = role_hash(role, members, thresholds)
    if latest is not None and latest.content_hash == digest:
        return None
    if latest is None and not members and not thresholds:
        return None
    values = {
        "role": role.value,
        "version": (latest.version + 1) if latest else 1,
        "content_hash": digest,
        "members": {"cases": members, "thresholds": dict(thresholds)},
        "size": len(members),
        "actor": actor,
        "reason": reason,
        "signoff_id": signoff_id,
        "created_at": utcnow(),
    }
    conn.execute(insert(EvalSetVersionRow).values(**values))
    return SetVersion(
        role=role,
        version=values["version"],
        content_hash=digest,
        size=len(members),
        thresholds=dict(thresholds),
        actor=actor,
        reason=reason,
        signoff_id=signoff_id,
        created_at=values["created_at"],
    )


def latest_version(conn: Connection, role: Role) -> SetVersion | None:
    row = _latest_row(conn, role)
    return _version(row) if row else None


def set_versions(store: Store, role: Role | str | None = None) -> list[SetVersion]:
    """Every version (newest first), of one role or all."""
    query = select(EvalSetVersionRow).order_by(
        EvalSetVersionRow.role, EvalSetVersionRow.version.desc()
    )
    if role is not None:
        query = query.where(EvalSetVersionRow.role == parse_role(role).value)
    with store.engine.connect() as conn:
        return [_version(row) for row in conn.execute(query)]


def current_version(store: Store, role: Role | str) -> SetVersion | None:
    with store.engine.connect() as conn:
        return latest_version(conn, parse_role(role))


def role_sizes(store: Store) -> dict[str, int]:
    query = select(EvalCaseRow.role, func.count()).group_by(EvalCaseRow.role)
    with store.engine.connect() as conn:
        counts = dict(conn.execute(query).all())
    return {role.value: int(counts.get(role.value, 0)) for role in Role}


# -- sign-off ------------------------------------------------------------------------------------


def require_signoff(
    conn: Connection,
    signoff: SignOff | None,
    config: DatasetsConfig,
    *,
    actor: str,
    subject: str,
    change: dict[str, Any],
) -> int:
    """Check an owner signed the blocking-set change off and chain the record; its id."""
    if not config.owners:
        raise SignOffRequired(
            "changing the blocking set needs an owner's sign-off, and no owners are configured; "
            'name them in flywheel.toml: [datasets] owners = ["alice"]'
        )
    if signoff is None:
        raise SignOffRequired(
            f"changing the blocking set ({subject}) needs an owner's sign-off; pass "
            f"--signoff OWNER --reason TEXT (owners: {', '.join(config.owners)})"
        )
    if signoff.owner not in config.owners:
        raise SignOffRequired(
            f"'{signoff.owner}' is not an owner of the blocking set; "
            f"owners: {', '.join(config.owners)}"
        )
    entry = append_entry(
        conn,
        actor=signoff.owner,
        action="blocking_signoff",
        subject=subject,
        detail={"requested_by": actor, "reason": signoff.reason, "change": change},
    )
    return entry.id


# -- public mutators -----------------------------------------------------------------------------


def add_case(
    store: Store,
    trace_id: str,
    *,
    role: Role | str,
    added_by: str,
    tags: Iterable[str | Tag] = (),
    expected: Expected | None = None,
    source: str | None = None,
    cluster_id: str | None = None,
    root_cause: str | None = None,
    signoff: SignOff | None = None,
    config: DatasetsConfig | None = None,
) -> EvalCase:
    """Make a stored trace a case of ``role`` (holdout additions are chained in the audit log)."""
    from flywheel.datasets._holdout import chain_holdout

    target = parse_role(role)
    stored = store.get_trace(trace_id, source)
    case_id = case_id_for(stored.trace.trace_id, stored.source)
    case = EvalCase(
        case_id=case_id,
        role=target,
        tags=parse_tags(tags),
        inputs=stored.trace.input,
        origin=Origin(
            trace_id=stored.trace.trace_id,
            source=stored.source,
            cluster_id=cluster_id or _cluster_of(store, stored.pk),
            root_cause=root_cause,
            timestamp=stored.trace.timestamp,
        ),
        expected=expected or Expected(),
        failing_output=(stored.trace.output_text or None) if stored.failing else None,
        added_by=added_by,
        added_at=utcnow(),
    )
    with store.engine.begin() as conn:
        existing = find_case(conn, case_id)
        if existing is not None:
            raise UserError(
                f"trace {trace_id} is already case {case_id} in the {existing.role} set; "
                f"move it with `flywheel datasets promote|demote {case_id} --to ROLE`"
            )
        signoff_id = None
        if target is Role.blocking:
            signoff_id = require_signoff(
                conn,
                signoff,
                config or DatasetsConfig(),
                actor=added_by,
                subject=f"blocking:add:{case_id}",
                change={"add": case_id, "trace_id": trace_id},
            )
        write_case(conn, case)
        version = record_version(
            conn, target, actor=added_by, reason=f"add {case_id}", signoff_id=signoff_id
        )
        if target is Role.holdout and version is not None:
            chain_holdout(conn, version, actor=added_by)
    return case


def move_case(
    store: Store,
    case_id: str,
    *,
    to: Role | str,
    actor: str,
    direction: str | None = None,
    signoff: SignOff | None = None,
    config: DatasetsConfig | None = None,
) -> EvalCase:
    """Move a case to another role (``direction`` "promote" / "demote" checks the ladder)."""
    target = parse_role(to)
    with store.engine.begin() as conn:
        case = find_case(conn, case_id)
        if case is None:
            raise UserError(f"no eval case '{case_id}'; list them with `flywheel datasets list`")
        if Role.holdout in (case.role, target):
            raise HoldoutProtected(
                f"the holdout is frozen: cases do not move into or out of it ({case_id}); "
                "add new holdout cases with `flywheel datasets add TRACE --role holdout`"
            )
        if case.role is target:
            raise UserError(f"case {case_id} is already in the {target} set")
        if direction is not None:
            up = LADDER.index(target) > LADDER.index(case.role)
            if (direction == "promote") != up:
                other = "promote" if up else "demote"
                raise UserError(
                    f"{direction} moves {'up' if direction == 'promote' else 'down'} the ladder "
                    f"({' < '.join(r.value for r in LADDER)}); {case.role} -> {target} is a "
                    f"{other}: use `flywheel datasets {other}`"
                )
        signoff_id = None
        if Role.blocking in (case.role, target):
            signoff_id = require_signoff(
                conn,
                signoff,
                config or DatasetsConfig(),
                actor=actor,
                subject=f"blocking:move:{case_id}",
                change={"case": case_id, "from": case.role.value, "to": target.value},
            )
        moved = case.model_copy(update={"role": target})
        write_case(conn, moved)
        reason = f"{direction or 'move'} {case_id}: {case.role} -> {target}"
        for role in (case.role, target):
            record_version(conn, role, actor=actor, reason=reason, signoff_id=signoff_id)
    return moved


def set_thresholds(
    store: Store,
    role: Role | str,
    thresholds: Mapping[str, float],
    *,
    actor: str,
    signoff: SignOff | None = None,
    config: DatasetsConfig | None = None,
) -> SetVersion | None:
    """Replace a role's thresholds (a new version; the blocking set's need a sign-off)."""
    target = parse_role(role)
    with store.engine.begin() as conn:
        signoff_id = None
        if target is Role.blocking:
            signoff_id = require_signoff(
                conn,
                signoff,
                config or DatasetsConfig(),
                actor=actor,
                subject="blocking:thresholds",
                change={"thresholds": dict(thresholds)},
            )
        return record_version(
            conn,
            target,
            actor=actor,
            reason="thresholds",
            signoff_id=signoff_id,
            thresholds=dict(thresholds),
        )


def list_cases(store: Store, role: Role | str | None = None) -> list[EvalCase]:
    """Cases of one role, or of every role; the holdout is read only through `HoldoutGuard`."""
    target = parse_role(role) if role is not None else None
    if target is Role.holdout:
        raise HoldoutProtected(
            "the holdout is read only through HoldoutGuard.read(purpose=...), which logs "
            "every read; `flywheel datasets holdout --purpose final_evaluation` shows it"
        )
    with store.engine.connect() as conn:
        return load_cases(conn, target)


def get_case(store: Store, case_id: str) -> EvalCase:
    with store.engine.connect() as conn:
        case = find_case(conn, case_id)
    if case is None:
        raise UserError(f"no eval case '{case_id}'; list them with `flywheel datasets list`")
    if case.role is Role.holdout:
        raise HoldoutProtected(f"case {case_id} is in the holdout; read it through HoldoutGuard")
    return case


def _cluster_of(store: Store, trace_pk: int) -> str | None:
    from flywheel.store._tables import ClusterMemberRow

    with store.engine.connect() as conn:
        value = conn.execute(
            select(ClusterMemberRow.cluster_id).where(ClusterMemberRow.trace_pk == trace_pk)
        ).scalar()
    return str(value) if value is not None else None
