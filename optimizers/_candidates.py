"""A candidate's life after it is proposed: its diff, rejection, shipping (worktree cleanup)."""

from __future__ import annotations

from pathlib import Path

from flywheel.errors import UserError
from flywheel.store import Store
from optimizers._store import CandidateRecord, OptimizerStore
from optimizers._workspace import ConfigWorkspace

CLOSED_STATUSES = ("rejected", "shipped", "gate_failed", "needs_rework")


def candidate_diff(store: Store, workspace: ConfigWorkspace, candidate_id: int) -> str:
    record = OptimizerStore(store).candidate(candidate_id)
    if not record.branch:
        raise UserError(f"candidate {candidate_id} failed ({record.reason}); it has no branch")
    return workspace.diff(record.branch, record.base_commit)


def close_candidate(
    store: Store, workspace: ConfigWorkspace, candidate_id: int, *, status: str, reason: str = ""
) -> CandidateRecord:
    """Mark a candidate ``rejected``, ``gate_failed`` or ``needs_rework`` (worktree and branch
    removed) or ``shipped`` (worktree removed, the branch kept: main's merge commit points at
    it)."""
    if status not in CLOSED_STATUSES:
        raise UserError(f"unknown status '{status}'; valid: {', '.join(CLOSED_STATUSES)}")
    ostore = OptimizerStore(store)
    record = ostore.candidate(candidate_id)
    if record.branch:
        workspace.remove(
            record.branch,
            Path(record.worktree) if record.worktree else None,
            delete_branch=status != "shipped",
        )
    ostore.set_status(candidate_id, status, reason)
    return ostore.candidate(candidate_id)
