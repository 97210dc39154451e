"""Approve, reject, roll back: the rules, the git change and the audit record, together.

The app and the CLI both call these. Every attempt is audited, including a refused one.

The rules are evaluated when someone approves, never frozen when the candidate was queued:
the cluster's *current* triage (severity, owner) says how many approvers a fix needs, and an
approval counts only under the conditions it was given in (`ApprovalContext`: severity,
owner, the gate run and base it judged, and the gate's verdict). A severity or owner change,
a re-gate, or a Holm revision of the gate that flips it re-opens the decision: earlier
approvals stop counting (a ``reopen`` audit record names them). A shipped fix whose gate a
later Holm revision flips gets a ``rollback.proposed`` record (`revisit_gate_revisions`).
Who the ``User`` is was settled by the caller (the app's sign-in, the CLI's `sign_in`): the
library API trusts its caller, the CLI and the app trust nobody (`flywheel.users`).

Order on approval: rules, then the stale-base check (a candidate gated on an older main is
re-gated on main's head first: `ui.approvals._regate`; a conflict marks it ``needs_rework``,
a failed re-gate refuses the approval), then the merge, then one database transaction with the
decision, the ship event, the status and the audit records; a failed merge leaves the
candidate waiting and records nothing but the failed attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, insert, select, update

from flywheel.chain import head_of
from flywheel.errors import FlywheelError, UserError
from flywheel.store import Store
from flywheel.store._tables import utcnow
from ui.approvals._audit import append_audit, record_event
from ui.approvals._candidates import Candidate, StoreQueue, register_candidate
from ui.approvals._context import (
    ApprovalContext,
    _reopen_if_changed,
    approval_context,
    counted_approvals,
)
from ui.approvals._git import MergeConflict, commit_message, main_head, merge_branch, revert_merge
from ui.approvals._revisions import apply_revision
from ui.approvals._rules import (
    Forbidden,
    approvers_needed,
    check_approve,
    check_regate,
    check_reject,
    check_rollback,
)
from ui.approvals._users import User
from ui.approvals.tables import AuditRecordRow, CandidateRow, DecisionRow, ShipRow

#: Re-runs the gate of a candidate whose base moved; returns the re-gated candidate.
Regate = Callable[[Candidate], Candidate]
#: Told after a decision is committed (candidate, new status): where the candidate came from
#: closes it (`ui.approvals._import.decision_hook`). A failure there is audited, never undoes
#: the decision.
OnDecided = Callable[[Candidate, str], None]


def _tell(store: Store, hook: OnDecided | None, candidate: Candidate, status: str) -> None:
    if hook is None:
        return
    try:
        hook(candidate, status)
    except FlywheelError as exc:
        record_event(
            store,
            actor="flywheel",
            action="origin.failed",
            subject=candidate.id,
            detail={"origin": candidate.origin, "status": status, "error": str(exc)},
        )


class StaleCandidate(UserError):
    """The candidate was gated on an older main, or fails its gate on the new one."""


def _reasons(candidate: Candidate) -> list[str]:
    reasons = getattr(candidate.gate, "reasons", None)
    return [str(r) for r in reasons] if isinstance(reasons, list) and reasons else ["gate failed"]


def _with_current_gate(store: Store, candidate: Candidate, user: User) -> Candidate:
    """The candidate with its gate as stored now (a Holm revision may have flipped it)."""
    return apply_revision(store, candidate, user.name) or candidate


def _regate(
    store: Store, candidate: Candidate, user: User, regate: Regate, on_decided: OnDecided | None
) -> Candidate:
    """Re-gate on main's head and store the new view; a conflict sends it back for rework."""
    old_base = candidate.base_sha
    try:
        updated = regate(candidate)
    except MergeConflict as exc:
        with store.engine.begin() as conn:
            _set_status(conn, candidate.id, "gated", "needs_rework")
            append_audit(
                conn,
                actor=user.name,
                action="needs_rework",
                subject=candidate.id,
                detail={"reason": str(exc), "files": exc.files, "base_sha": old_base},
            )
        _tell(store, on_decided, candidate, "needs_rework")
        raise
    register_candidate(store, updated)
    record_event(
        store,
        actor=user.name,
        action="regate",
        subject=candidate.id,
        detail={
            "old_base_sha": old_base,
            "base_sha": updated.base_sha,
            "replay_run": updated.replay_run,
            "passed": updated.gate.passed,
        },
    )
    return updated


def is_stale(candidate: Candidate) -> bool:
    """True when main's head is no longer the commit the candidate was gated on."""
    return main_head(candidate.repo, candidate.main_branch) != candidate.base_sha


def regate_candidate(
    store: Store,
    candidate_id: str,
    user: User,
    regate: Regate,
    *,
    on_decided: OnDecided | None = None,
) -> Candidate:
    """Re-gate a waiting candidate on main's head now (approvers); unchanged when current.

    Raises `ui.MergeConflict` after marking the candidate ``needs_rework`` when its branch
    conflicts with main.
    """
    candidate = StoreQueue(store).get(candidate_id)
    try:
        check_regate(user, status=candidate.status)
    except Forbidden as exc:
        _refused(store, user, "regate", candidate_id, exc)
        raise
    if not is_stale(candidate):
        return candidate
    return _regate(store, candidate, user, regate, on_decided)


class Outcome(BaseModel):
    candidate_id: str
    status: str
    approvals: list[str]
    approvals_needed: int
    merge_sha: str | None = None
    revert_sha: str | None = None
    #: main's head the candidate was re-gated on during this call (it had moved), if any.
    regated_on: str | None = None


def approvals_of(store: Store, candidate_id: str) -> list[str]:
    """Who approved the candidate under the conditions that hold now (see the docstring); for
    a shipped (or rolled back) fix, who shipped it."""
    candidate = StoreQueue(store).get(candidate_id)
    ship = ship_of(store, candidate_id) if candidate.status != "gated" else None
    if ship is not None:
        return [str(name) for name in (ship["approvers"] or {}).get("names", [])]
    return counted_approvals(store, candidate, approval_context(store, candidate))


def _refused(store: Store, user: User, action: str, candidate_id: str, exc: Exception) -> None:
    record_event(
        store,
        actor=user.name,
        action=f"{action}.refused",
        subject=candidate_id,
        detail={"reason": str(exc), "role": user.role.value},
    )


def _decide(
    conn: Connection,
    candidate: Candidate,
    user: User,
    decision: str,
    comment: str,
    context: ApprovalContext | None = None,
) -> None:
    conn.execute(
        insert(DecisionRow).values(
            candidate_id=candidate.id, actor=user.name, decision=decision, comment=comment
        )
    )
    detail: dict[str, Any] = {
        "cluster": candidate.cluster_id,
        "comment": comment,
        "role": user.role.value,
        "via": user.via,
    }
    if context is not None:
        detail["context"] = context.model_dump()
    append_audit(conn, actor=user.name, action=decision, subject=candidate.id, detail=detail)


def _set_status(conn: Connection, candidate_id: str, old: str, new: str) -> None:
    result = conn.execute(
        update(CandidateRow)
        .where(CandidateRow.id == candidate_id, CandidateRow.status == old)
        .values(status=new)
    )
    if result.rowcount != 1:
        raise UserError(f"candidate '{candidate_id}' changed while deciding; reload and retry")


def approve(
    store: Store,
    candidate_id: str,
    user: User,
    comment: str = "",
    *,
    regate: Regate | None = None,
    on_decided: OnDecided | None = None,
) -> Outcome:
    """Approve; the last approval needed merges the branch into main and records the ship."""
    queue = StoreQueue(store)
    candidate = _with_current_gate(store, queue.get(candidate_id), user)
    context = approval_context(store, candidate)
    try:
        check_approve(
            user,
            author=candidate.author,
            status=candidate.status,
            severity=context.severity,
            approved_by=counted_approvals(store, candidate, context),
        )
    except Forbidden as exc:
        _refused(store, user, "approve", candidate_id, exc)
        raise
    regated_on = None
    if main_head(candidate.repo, candidate.main_branch) != candidate.base_sha:
        if regate is None:
            stale = StaleCandidate(
                f"candidate '{candidate_id}' was gated on {candidate.base_sha[:12]} but main has "
                "moved; re-gate it on the new main before approving"
            )
            _refused(store, user, "approve", candidate_id, stale)
            raise stale
        candidate = _regate(store, candidate, user, regate, on_decided)
        regated_on = candidate.base_sha
        context = approval_context(store, candidate)
    if not candidate.gate.passed:
        failed = StaleCandidate(
            f"candidate '{candidate_id}' does not pass its gate on main's head "
            f"({'; '.join(_reasons(candidate))}); reject it or let the optimizer rework it"
        )
        _refused(store, user, "approve", candidate_id, failed)
        raise failed
    _reopen_if_changed(store, candidate, user, context)
    approved_by = counted_approvals(store, candidate, context)
    needed = approvers_needed(context.severity)
    ships = check_approve(
        user,
        author=candidate.author,
        status=candidate.status,
        severity=context.severity,
        approved_by=approved_by,
    )
    if not ships:
        with store.engine.begin() as conn:
            _decide(conn, candidate, user, "approve", comment, context)
        return Outcome(
            candidate_id=candidate_id,
            status=candidate.status,
            approvals=[*approved_by, user.name],
            approvals_needed=needed,
            regated_on=regated_on,
        )
    approvers = [*approved_by, user.name]
    with store.engine.connect() as conn:
        audit_head = head_of(conn, AuditRecordRow)
    message = commit_message(
        f"Ship {candidate.id}: fix for {candidate.cluster_id}",
        f"{candidate.cluster_label}\n\n{comment}",
        [
            ("Flywheel-Cluster", candidate.cluster_id),
            ("Flywheel-Replay-Run", candidate.replay_run),
            ("Flywheel-Severity", context.severity),
            *[("Flywheel-Approver", name) for name in approvers],
            *([("Flywheel-Audit-Head", audit_head.trailer())] if audit_head else []),
        ],
    )
    merge_sha = merge_branch(
        candidate.repo,
        candidate.branch,
        user=user.name,
        message=message,
        main=candidate.main_branch,
    )
    with store.engine.begin() as conn:
        _decide(conn, candidate, user, "approve", comment, context)
        _set_status(conn, candidate_id, "gated", "shipped")
        conn.execute(
            insert(ShipRow).values(
                candidate_id=candidate_id,
                cluster_id=candidate.cluster_id,
                merge_sha=merge_sha,
                approvers={"names": approvers},
            )
        )
        append_audit(
            conn,
            actor=user.name,
            action="ship",
            subject=candidate_id,
            detail={
                "cluster": candidate.cluster_id,
                "replay_run": candidate.replay_run,
                "merge_sha": merge_sha,
                "approvers": approvers,
                "severity": context.severity,
                "owner": context.owner,
                "branch": candidate.branch,
            },
        )
    _tell(store, on_decided, candidate, "shipped")
    return Outcome(
        candidate_id=candidate_id,
        status="shipped",
        approvals=approvers,
        approvals_needed=needed,
        merge_sha=merge_sha,
        regated_on=regated_on,
    )


def reject(
    store: Store,
    candidate_id: str,
    user: User,
    comment: str = "",
    *,
    on_decided: OnDecided | None = None,
) -> Outcome:
    candidate = StoreQueue(store).get(candidate_id)
    try:
        check_reject(user, status=candidate.status)
    except Forbidden as exc:
        _refused(store, user, "reject", candidate_id, exc)
        raise
    with store.engine.begin() as conn:
        _decide(conn, candidate, user, "reject", comment)
        _set_status(conn, candidate_id, "gated", "rejected")
    _tell(store, on_decided, candidate, "rejected")
    return Outcome(
        candidate_id=candidate_id,
        status="rejected",
        approvals=approvals_of(store, candidate_id),
        approvals_needed=approvers_needed(candidate.severity),
    )


def ship_of(store: Store, candidate_id: str) -> dict[str, Any] | None:
    query = select(ShipRow.__table__).where(ShipRow.candidate_id == candidate_id)
    with store.engine.connect() as conn:
        row = conn.execute(query.order_by(ShipRow.id.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


def rollback(store: Store, candidate_id: str, user: User, comment: str = "") -> Outcome:
    """Revert a shipped fix on main (a revert commit) and record who did it and why."""
    candidate = StoreQueue(store).get(candidate_id)
    try:
        check_rollback(user, status=candidate.status)
    except Forbidden as exc:
        _refused(store, user, "rollback", candidate_id, exc)
        raise
    ship = ship_of(store, candidate_id)
    if ship is None:
        raise UserError(f"candidate '{candidate_id}' has no ship event to roll back")
    message = commit_message(
        f"Roll back {candidate.id} (revert {ship['merge_sha'][:12]})",
        comment,
        [
            ("Flywheel-Cluster", candidate.cluster_id),
            ("Flywheel-Rollback-Of", ship["merge_sha"]),
            ("Flywheel-Approver", user.name),
        ],
    )
    revert_sha = revert_merge(
        candidate.repo,
        ship["merge_sha"],
        user=user.name,
        message=message,
        main=candidate.main_branch,
    )
    with store.engine.begin() as conn:
        _set_status(conn, candidate_id, "shipped", "rolled_back")
        conn.execute(
            update(ShipRow)
            .where(ShipRow.id == ship["id"])
            .values(revert_sha=revert_sha, rolled_back_by=user.name, rolled_back_at=utcnow())
        )
        append_audit(
            conn,
            actor=user.name,
            action="rollback",
            subject=candidate_id,
            detail={"merge_sha": ship["merge_sha"], "revert_sha": revert_sha, "comment": comment},
        )
    return Outcome(
        candidate_id=candidate_id,
        status="rolled_back",
        approvals=approvals_of(store, candidate_id),
        approvals_needed=approvers_needed(candidate.severity),
        merge_sha=ship["merge_sha"],
        revert_sha=revert_sha,
    )
