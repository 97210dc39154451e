"""The nightly ``queue`` stage: candidates that passed the gate enter the approval queue.

With ``auto_approve_as`` (the demo's automated approvers) each queued candidate is approved
under those names, through the same rules, re-gate and audit log as a human approval. Each
name must be an account of the users file with a stored credential (`flywheel demo run`
creates them); it signs in with it like any other user (`flywheel.users`, trust model).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flywheel.errors import UserError
from flywheel.nightly import StageContext, StageResult
from flywheel.store import Store
from ui.approvals._candidates import Candidate, StoreQueue
from ui.approvals._decisions import approve, reject
from ui.approvals._import import decision_hook, import_gated
from ui.approvals._regate import project_regate
from ui.approvals._revisions import revisit_gate_revisions
from ui.approvals._users import User, sign_in_automated


class QueueStage:
    name = "queue"

    def run(self, context: StageContext) -> StageResult:
        store, project = context.store, context.project
        before = {c.id for c in StoreQueue(store).queue(status="gated", limit=10**6)}
        passing = import_gated(store, project)  # also lists those queued on earlier nights
        # queued by this run: now, or by an attempt killed before the stage was recorded
        earlier = _queued_since(store, context.run_started_at)
        imported = [cid for cid in passing if cid not in before or cid in earlier]
        revisions = revisit_gate_revisions(store)  # tonight's gates may revise earlier verdicts
        shipped: list[str] = []
        refused: dict[str, str] = {}
        if context.options.auto_approve_as:
            # signed in once for the run; a bot without its credential fails the stage loudly
            bots = [sign_in_automated(project.data_dir, n) for n in context.options.auto_approve_as]
            waiting = StoreQueue(store).queue(status="gated", limit=10**6)
            done_clusters: set[str] = set()
            for candidate in sorted(waiting, key=_best_first):
                if candidate.cluster_id in done_clusters:
                    why = "superseded: another fix of this cluster shipped in the same nightly run"
                    _reject(context, bots[0], candidate.id, why, refused)
                    continue
                outcome = _approve_all(context, bots, candidate.id, refused)
                if outcome is not None and outcome.get("status") == "shipped":
                    shipped.append(candidate.id)
                    done_clusters.add(candidate.cluster_id)
        size = StoreQueue(store).count(status="gated")
        summary: dict[str, Any] = {
            "imported": imported,
            "queue_size": size,
            "gate_revised": [r.model_dump() for r in revisions],
        }
        if context.options.auto_approve_as:
            summary.update({"shipped": shipped, "refused": refused})
        return StageResult(
            summary=summary, counts={"imported": len(imported), "shipped": len(shipped)}
        )


def _queued_since(store: Store, began: datetime | None) -> set[str]:
    if began is None:
        return set()
    began = began.replace(tzinfo=UTC) if began.tzinfo is None else began
    queued = StoreQueue(store).queue(status="gated", limit=10**6)
    return {
        c.id
        for c in queued
        if (c.created_at.replace(tzinfo=UTC) if c.created_at.tzinfo is None else c.created_at)
        >= began
    }


def _best_first(candidate: Candidate) -> tuple[float, int, float, str]:
    """Highest priority first; within a cluster the candidate that fixed the most, net."""
    gate = candidate.gate
    net = gate.target_fixed - gate.target_broken
    return (-candidate.priority, -net, gate.target_p_value or 1.0, candidate.id)


def _reject(
    context: StageContext, bot: User, candidate_id: str, why: str, refused: dict[str, str]
) -> None:
    """The automated approver withdraws a candidate, on the record (its cluster reopens)."""
    try:
        reject(
            context.store,
            candidate_id,
            bot,
            why,
            on_decided=decision_hook(context.project),
        )
    except UserError as exc:
        refused[candidate_id] = " ".join(str(exc).split())[:200]


def _approve_all(
    context: StageContext, bots: list[User], candidate_id: str, refused: dict[str, str]
) -> dict[str, Any] | None:
    """Approve as each automated approver until the candidate ships (or is refused)."""
    store, project = context.store, context.project
    outcome = None
    for bot in bots:
        try:
            result = approve(
                store,
                candidate_id,
                bot,
                "approved by the nightly run's automated approver",
                regate=project_regate(project, store),
                on_decided=decision_hook(project),
            )
        except UserError as exc:
            reason = " ".join(str(exc).split())[:200]
            refused[candidate_id] = reason
            if StoreQueue(store).get(candidate_id).status == "gated":  # e.g. failed its re-gate
                _reject(context, bots[0], candidate_id, f"not approved: {reason}", refused)
            return None
        outcome = result.model_dump()
        if result.status == "shipped":
            break
    return outcome
