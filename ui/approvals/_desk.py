"""The approval desk of one project: the decisions with the project's hooks wired in.

The app's Approvals page and the CLI's ``approve``/``reject``/``rollback``/``queue`` commands
hold an `ApprovalDesk` and call it; neither assembles the re-gate or the origin hook itself, and
neither applies a rule: `decision_view` says what an approval would do *now* (under the
cluster's current severity, with the approvals that still count), so a page draws it and asks.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from flywheel.project import Project
from flywheel.store import Store
from ui.approvals._audit import audit_records
from ui.approvals._candidates import Candidate, StoreQueue
from ui.approvals._context import approval_context
from ui.approvals._decisions import (
    Outcome,
    approvals_of,
    approve,
    is_stale,
    regate_candidate,
    reject,
    rollback,
    ship_of,
)
from ui.approvals._import import decision_hook, import_gated
from ui.approvals._regate import project_regate
from ui.approvals._revisions import GateRevision, revisit_gate_revisions
from ui.approvals._rules import Forbidden, approvers_needed, check_approve
from ui.approvals._users import User


class DecisionView(BaseModel):
    """What deciding on a candidate means now, for one person (read-only: nothing recorded)."""

    candidate_id: str
    status: str
    #: The cluster's severity now (triage, or a reviewer's correction), which sets the rule.
    severity: str
    #: Who approved under the conditions that hold now; for a shipped fix, who shipped it.
    approvals: list[str]
    approvals_needed: int
    #: This person's approval would be the last one needed: it merges and ships.
    ships_on_approval: bool
    #: Why this person may not approve now (role, author, already approved, status), if so.
    refused: str | None = None
    #: Why a ``needs_rework`` candidate went back (its audit record's reason).
    rework_reason: str | None = None
    #: The ship event of a shipped or rolled back fix (merge_sha, shipped_at, approvers...).
    ship: dict[str, Any] | None = None


class SyncReport(BaseModel):
    imported: list[str]
    gate_revised: list[GateRevision]


class ApprovalDesk:
    """One project's approval decisions; see the module docstring."""

    def __init__(self, project: Project, store: Store) -> None:
        self.project = project
        self.store = store
        self.queue = StoreQueue(store)

    def approve(self, candidate_id: str, user: User, comment: str = "") -> Outcome:
        """`ui.approvals.approve`, re-gating on main's head first when main has moved."""
        return approve(
            self.store,
            candidate_id,
            user,
            comment,
            regate=project_regate(self.project, self.store),
            on_decided=decision_hook(self.project),
        )

    def reject(self, candidate_id: str, user: User, comment: str = "") -> Outcome:
        hook = decision_hook(self.project)
        return reject(self.store, candidate_id, user, comment, on_decided=hook)

    def rollback(self, candidate_id: str, user: User, comment: str = "") -> Outcome:
        return rollback(self.store, candidate_id, user, comment)

    def regate(self, candidate_id: str, user: User) -> Candidate:
        """Re-gate a waiting candidate on main's head now (unchanged when its base is current)."""
        return regate_candidate(
            self.store,
            candidate_id,
            user,
            project_regate(self.project, self.store),
            on_decided=decision_hook(self.project),
        )

    def import_gated(self) -> list[str]:
        """Queue the optimizers' candidates whose replay gate passed; their ids."""
        return import_gated(self.store, self.project)

    def sync(self) -> SyncReport:
        """`import_gated`, then the later Holm revisions of queued and shipped gates."""
        imported = self.import_gated()
        return SyncReport(imported=imported, gate_revised=revisit_gate_revisions(self.store))

    def is_stale(self, candidate: Candidate) -> bool:
        """Main's head moved since the candidate was gated (raises `UserError` without a repo)."""
        return is_stale(candidate)

    def decision_view(self, candidate: Candidate | str, user: User) -> DecisionView:
        """What an approval by ``user`` would do now, and why it would be refused."""
        if isinstance(candidate, str):
            candidate = self.queue.get(candidate)
        severity = approval_context(self.store, candidate).severity
        approved_by = approvals_of(self.store, candidate.id)
        refused: str | None = None
        try:
            check_approve(
                user,
                author=candidate.author,
                status=candidate.status,
                severity=severity,
                approved_by=approved_by,
            )
        except Forbidden as exc:
            refused = str(exc)
        needed = approvers_needed(severity)
        return DecisionView(
            candidate_id=candidate.id,
            status=candidate.status,
            severity=severity,
            approvals=approved_by,
            approvals_needed=needed,
            ships_on_approval=len(set(approved_by)) + 1 >= needed,
            refused=refused,
            rework_reason=self._rework_reason(candidate),
            ship=ship_of(self.store, candidate.id) if candidate.status != "gated" else None,
        )

    def _rework_reason(self, candidate: Candidate) -> str | None:
        if candidate.status != "needs_rework":
            return None
        for record in audit_records(self.store, subject=candidate.id, limit=50):
            if record.action == "needs_rework":
                return str(record.detail.get("reason", ""))
        return "its branch conflicts"
