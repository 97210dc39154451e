"""When a fix ships, the failures it fixed join the regression eval set (flywheel.datasets).

The cases are the target slice on which the gate judged the candidate: each one the candidate
passed joins with the candidate's validated output as its reference, with full provenance
(cluster, candidate, replay run, approver, merge commit).
"""

from __future__ import annotations

from flywheel.datasets import PromotionResult, ShippedCase, promote_shipped
from flywheel.store import Store
from replay import ReplayStore, Status, Suite
from ui.approvals._candidates import Candidate


def promote_fixed_cases(
    store: Store, candidate: Candidate, *, approver: str, config_commit: str
) -> PromotionResult | None:
    """Promote the cases the shipped candidate fixed; None when it has no stored gate run."""
    replay = ReplayStore(store)
    decisions = replay.gate_decisions(candidate.id)
    case_set = replay.latest_case_set(Suite.validation, candidate.cluster_id)
    if not decisions or case_set is None:
        return None
    digests = [case.digest for case in case_set.cases]
    results = replay.results(str(decisions[-1]["candidate_digest"]), digests, with_traces=True)
    shipped = []
    for case in case_set.cases:
        result = results.get((case.digest, 0))
        if result is None or result.status != Status.passed or result.trace is None:
            continue
        shipped.append(
            ShippedCase(
                trace_id=case.case_id,
                reference_output=result.trace.output_text,
                reference_trace=result.trace,
            )
        )
    return promote_shipped(
        store,
        cluster_id=candidate.cluster_id,
        candidate_id=candidate.id,
        replay_run_id=candidate.replay_run,
        approver=approver,
        config_commit=config_commit,
        cases=shipped,
        root_cause=candidate.cluster_label or None,
    )
