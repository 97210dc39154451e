"""When a later Holm revision flips a queued or shipped candidate's gate verdict.

Replay re-runs Holm over a cluster's whole family each time a member is gated
(`replay._family`), rewriting stored decisions; a candidate that passed when it was queued can
fail once its family grows. The queue keeps the gate summary the approver saw, so the queue
looks again at the stored decision of the gate run it holds (``replay_run = gate-ID``):

- a waiting candidate gets the revised summary (an approval is then refused, and approvals
  given before the revision stop counting: the revision is part of `ApprovalContext`);
- a shipped one gets a ``rollback.proposed`` audit record (once per revision) saying why, for
  an approver to act on with `flywheel rollback`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update

from flywheel.store import Store
from replay import ReplayStore
from ui.approvals._audit import record_event
from ui.approvals._candidates import Candidate, GateSummary, StoreQueue
from ui.approvals.tables import AuditRecordRow, CandidateRow

#: The actor of records the queue writes on its own.
QUEUE_ACTOR = "flywheel"


class GateRevision(BaseModel):
    """A candidate whose stored gate verdict differs from the one it was queued with."""

    candidate_id: str
    status: str
    passed: bool
    revised: str
    #: For a shipped fix: True when this call proposed its rollback.
    rollback_proposed: bool = False


def _gate_row_id(candidate: Candidate) -> int | None:
    prefix, _, number = candidate.replay_run.partition("-")
    return int(number) if prefix == "gate" and number.isdigit() else None


def revised_gate(store: Store, candidate: Candidate) -> GateSummary | None:
    """The candidate's gate as stored now, when a Holm revision changed its verdict since it
    was queued; None when it stands (or the run is not one of replay's gate decisions)."""
    row_id = _gate_row_id(candidate)
    if row_id is None:
        return None
    for decision in ReplayStore(store).gate_decisions(candidate.id):
        if decision["id"] != row_id:
            continue
        report: dict[str, Any] = decision["report"] or {}
        passed = report.get("decision", decision["decision"]) == "pass"
        revised = report.get("revised")
        if passed == candidate.gate.passed or not revised:
            return None
        target = report.get("target") or {}
        return candidate.gate.model_copy(
            update={
                "passed": passed,
                "decision": report.get("decision"),
                "reasons": [*report.get("reasons", []), f"Holm revision: {revised}"],
                "revised": revised,
                "target_p_value": target.get("p_value_holm", candidate.gate.target_p_value),
            }
        )
    return None


def apply_revision(store: Store, candidate: Candidate, actor: str) -> Candidate | None:
    """Store a revised gate on the queued candidate (audited); the updated candidate, or
    None when its gate stands."""
    gate = revised_gate(store, candidate)
    if gate is None:
        return None
    with store.engine.begin() as conn:
        conn.execute(
            update(CandidateRow)
            .where(CandidateRow.id == candidate.id)
            .values(gate=gate.model_dump(mode="json"))
        )
    record_event(
        store,
        actor=actor,
        action="gate_revised",
        subject=candidate.id,
        detail={
            "status": candidate.status,
            "replay_run": candidate.replay_run,
            "passed": gate.passed,
            "revised": getattr(gate, "revised", None),
        },
    )
    return candidate.model_copy(update={"gate": gate})


def _proposed(store: Store, candidate_id: str, revised: str) -> bool:
    query = select(AuditRecordRow.detail).where(
        AuditRecordRow.subject == candidate_id, AuditRecordRow.action == "rollback.proposed"
    )
    with store.engine.connect() as conn:
        return any((d or {}).get("revised") == revised for d in conn.execute(query).scalars())


def revisit_gate_revisions(store: Store, *, limit: int = 10**6) -> list[GateRevision]:
    """Apply every Holm revision to the queue: waiting candidates take the revised gate,
    shipped fixes whose gate no longer passes get a rollback proposal."""
    queue = StoreQueue(store)
    found: list[GateRevision] = []
    for status in ("gated", "shipped"):
        for candidate in queue.queue(status=status, limit=limit):
            updated = apply_revision(store, candidate, QUEUE_ACTOR)
            if updated is None:
                continue
            revised = str(getattr(updated.gate, "revised", ""))
            proposed = False
            failing_ship = status == "shipped" and not updated.gate.passed
            if failing_ship and not _proposed(store, candidate.id, revised):
                record_event(
                    store,
                    actor=QUEUE_ACTOR,
                    action="rollback.proposed",
                    subject=candidate.id,
                    detail={
                        "revised": revised,
                        "replay_run": candidate.replay_run,
                        "reason": "a later Holm revision of its gate family no longer passes "
                        f"it; roll it back with `flywheel rollback {candidate.id} --as "
                        "APPROVER` or keep it on the record",
                    },
                )
                proposed = True
            found.append(
                GateRevision(
                    candidate_id=candidate.id,
                    status=status,
                    passed=updated.gate.passed,
                    revised=revised,
                    rollback_proposed=proposed,
                )
            )
    return found
