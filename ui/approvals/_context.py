"""Which approvals still count: the conditions an approval was given under, checked now.

An approval counts only while its `ApprovalContext` (the cluster's severity and owner, the
gate run and base it judged, the gate's Holm revision note) still holds and no reviewer gave
the cluster another severity since. When it no longer holds, a ``reopen`` audit record names
the approvals voided and what changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from flywheel.store import Store
from triage import human_labels
from ui.approvals._audit import record_event
from ui.approvals._candidates import Candidate
from ui.approvals._triage import triage_views
from ui.approvals._users import User
from ui.approvals.tables import AuditRecordRow


class ApprovalContext(BaseModel):
    """What an approval was given under; it counts only while all of it still holds."""

    severity: str
    owner: str
    replay_run: str
    base_sha: str
    #: The gate's Holm revision note when a later family member flipped its verdict.
    gate_revised: str | None = None


def approval_context(store: Store, candidate: Candidate) -> ApprovalContext:
    """The conditions now: the cluster's current triage and the candidate's gate run."""
    view = triage_views(store).get(candidate.cluster_id)
    return ApprovalContext(
        severity=(view.severity if view else candidate.severity).upper(),
        owner=view.owner if view else "",
        replay_run=candidate.replay_run,
        base_sha=candidate.base_sha,
        gate_revised=_revision_note(candidate),
    )


def _revision_note(candidate: Candidate) -> str | None:
    revised = getattr(candidate.gate, "revised", None)
    return str(revised) if revised else None


Given = tuple[str, dict[str, Any] | None, datetime]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _given(store: Store, candidate_id: str) -> list[Given]:
    """Approvals since the decision was last re-opened: (approver, context given under, when)."""
    query = (
        select(
            AuditRecordRow.actor, AuditRecordRow.action, AuditRecordRow.detail, AuditRecordRow.at
        )
        .where(
            AuditRecordRow.subject == candidate_id,
            AuditRecordRow.action.in_(("approve", "reopen")),
        )
        .order_by(AuditRecordRow.id)
    )
    given: list[Given] = []
    with store.engine.connect() as conn:
        for actor, action, detail, at in conn.execute(query):
            if action == "reopen":
                given = []
            else:
                given.append((str(actor), (detail or {}).get("context"), _utc(at)))
    return given


def _relabelled_since(store: Store, cluster_id: str, severity: str) -> list[datetime]:
    """When reviewers labelled the cluster with another severity (a change, even if undone)."""
    return [
        _utc(label.created_at)
        for label in human_labels(store)
        if label.cluster_id == cluster_id
        and label.severity is not None
        and label.severity.upper() != severity
    ]


def _still_holds(store: Store, cluster_id: str, given: Given, now: dict[str, Any]) -> bool:
    _, context, at = given
    if context != now:
        return False
    return not any(when > at for when in _relabelled_since(store, cluster_id, now["severity"]))


def counted_approvals(store: Store, candidate: Candidate, context: ApprovalContext) -> list[str]:
    """The approvers whose approval still counts under ``context``: given under the same
    conditions, and no reviewer gave the cluster another severity since (S1 -> S3 -> S1
    re-opens the decision too)."""
    now = context.model_dump()
    return [
        given[0]
        for given in _given(store, candidate.id)
        if _still_holds(store, candidate.cluster_id, given, now)
    ]


def _reopen_if_changed(
    store: Store, candidate: Candidate, user: User, context: ApprovalContext
) -> None:
    """Record that earlier approvals no longer count, naming what changed."""
    now = context.model_dump()
    stale = [
        (actor, given or {})
        for actor, given, at in _given(store, candidate.id)
        if not _still_holds(store, candidate.cluster_id, (actor, given, at), now)
    ]
    if not stale:
        return
    changed = sorted({key for _, given in stale for key in now if given.get(key) != now[key]})
    changed = changed or ["severity"]  # the same now, but relabelled in between
    record_event(
        store,
        actor=user.name,
        action="reopen",
        subject=candidate.id,
        detail={
            "voided": [actor for actor, _ in stale],
            "changed": changed,
            "context": now,
            "cluster": candidate.cluster_id,
        },
    )
