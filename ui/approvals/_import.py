"""Fill the approval queue from the optimizers' candidates and the replay gate's decisions.

A candidate enters the queue when the optimizers proposed it (a branch in the configuration
repository) and its latest replay gate decision is ``pass``. Severity and priority come from
its cluster's triage record. The replay id of an optimizer candidate is its number as text
unless ``replay_id`` says otherwise (the two packages do not share a resolver yet).
"""

from __future__ import annotations

from collections.abc import Callable

from flywheel.errors import UserError
from flywheel.project import Project
from flywheel.store import Store
from flywheel.trace import as_text
from optimizers import (
    CandidateRecord,
    OptimizerStore,
    candidate_diff,
    close_candidate,
    open_workspace,
)
from replay import GateReport, ReplayStore, Status, Suite
from ui.approvals._candidates import (
    Candidate,
    FlippedCase,
    GateSummary,
    Guardrail,
    Interval,
    StoreQueue,
)
from ui.approvals._candidates import register_candidate as _register
from ui.approvals._decisions import approvals_of
from ui.approvals._git import main_head
from ui.approvals._promote import promote_fixed_cases
from ui.approvals._triage import triage_views

_GUARDRAILS = (
    ("latency_p95", "latency_p95_ratio", "latency_p95_ci", "latency_p95_budget"),
    ("cost", "cost_ratio", "cost_ci", "cost_budget"),
    ("tool_calls", "tool_calls_ratio", "tool_calls_ci", "tool_calls_budget"),
)


def gate_summary(report: GateReport) -> GateSummary:
    """The approver's view of a replay gate report: every number with its interval."""
    target, regression, guard = report.target, report.regression, report.guardrails
    guardrails = {}
    for name, ratio_field, ci_field, budget_field in _GUARDRAILS:
        ratio = getattr(guard, ratio_field)
        if ratio is None:
            continue
        budget = guard.budgets.get(name, getattr(report.config, budget_field))
        ci = getattr(guard, ci_field)
        guardrails[name] = Guardrail(
            ratio=ratio,
            interval=Interval(low=ci[0], high=ci[1]) if ci else None,
            budget=budget,
            ok=ratio <= budget,
        )
    has_ci = regression.ci_low is not None and regression.ci_high is not None
    return GateSummary(
        passed=report.decision == "pass",
        target_cases=target.cases,
        target_fixed=target.fixed,
        target_broken=target.broken,
        target_p_value=target.p_value_holm if target.p_value_holm is not None else target.p_value,
        target_alpha=report.config.alpha,
        regression_delta=regression.delta,
        regression_ci=Interval(low=regression.ci_low or 0.0, high=regression.ci_high or 0.0)
        if has_ci
        else None,
        regression_margin=regression.margin,
        blocking_cases=report.blocking.cases,
        blocking_failures=len(report.blocking.broken),
        guardrails=guardrails,
        decision=report.decision,
        reasons=report.reasons,
    )


def flipped_cases(
    replay: ReplayStore, cluster_id: str, baseline_digest: str, candidate_digest: str
) -> list[FlippedCase]:
    """Target-slice cases whose outcome changed (first repeat), baseline next to candidate."""
    case_set = replay.latest_case_set(Suite.validation, cluster_id)
    if case_set is None:
        return []
    digests = [case.digest for case in case_set.cases]
    before = replay.results(baseline_digest, digests, with_traces=True)
    after = replay.results(candidate_digest, digests, with_traces=True)
    flips = []
    for case in case_set.cases:
        old, new = before.get((case.digest, 0)), after.get((case.digest, 0))
        if old is None or new is None or Status.error in (old.status, new.status):
            continue
        if old.status == new.status:
            continue
        flips.append(
            FlippedCase(
                case_id=case.case_id,
                direction="fixed" if new.status == Status.passed else "broken",
                slice="target",
                input=as_text(case.inputs),
                baseline_output=old.trace.output_text if old.trace else "",
                candidate_output=new.trace.output_text if new.trace else "",
            )
        )
    return flips


def import_gated(
    store: Store,
    project: Project,
    *,
    replay_id: Callable[[CandidateRecord], str] = lambda record: str(record.candidate_id),
) -> list[str]:
    """Register every proposed candidate whose latest gate decision passed; their ids."""
    workspace = open_workspace(project)
    replay = ReplayStore(store)
    views = triage_views(store)
    queue = StoreQueue(store)
    imported = []
    for record in OptimizerStore(store).candidates(status="proposed"):
        if not record.branch or not record.base_commit:
            continue
        key = replay_id(record)
        decisions = replay.gate_decisions(key)
        if not decisions:
            continue
        latest = decisions[-1]
        report = GateReport.model_validate(latest["report"])
        if report.decision != "pass":
            continue
        try:
            queued = queue.get(key)
        except UserError:
            queued = None  # not in the queue yet
        if queued is not None and queued.status != "gated":
            continue  # decided already (or sent back for rework)
        if queued is not None and queued.replay_run == f"gate-{latest['id']}":
            imported.append(key)  # queued from this very decision (maybe a re-gate): keep it
            continue
        view = views.get(record.cluster_id)
        _register(
            store,
            Candidate(
                id=key,
                cluster_id=record.cluster_id,
                cluster_label=record.root_cause,
                severity=view.severity if view else "S3",
                priority=(view.priority or 0.0) if view else 0.0,
                author=f"optimizer:{record.strategy}",
                strategy=record.strategy,
                repo=str(workspace.info.repo),
                branch=record.branch,
                base_sha=record.base_commit,
                diff=candidate_diff(store, workspace, record.candidate_id),
                rationale=record.rationale,
                replay_run=f"gate-{latest['id']}",
                main_branch=workspace.info.main,
                origin=f"optimizers:{record.candidate_id}",
                gate=gate_summary(report),
                flips=flipped_cases(
                    replay,
                    record.cluster_id,
                    str(latest["baseline_digest"]),
                    str(latest["candidate_digest"]),
                ),
            ),
        )
        imported.append(key)
    return imported


def decision_hook(project: Project) -> Callable[[Candidate, str], None]:
    """Close an optimizer candidate once decided: shipped keeps its branch (and its fixed
    cases join the regression eval set), rejected drops it, and one that conflicts with the
    new main is closed too, so its cluster is optimized again on the new main."""

    def close(candidate: Candidate, status: str) -> None:
        kind, _, number = candidate.origin.partition(":")
        if kind != "optimizers" or status not in ("shipped", "rejected", "needs_rework"):
            return
        with_store = project.open_store()
        try:
            close_candidate(
                with_store, open_workspace(project), int(number), status=status, reason=status
            )
            if status == "shipped":
                approvers = approvals_of(with_store, candidate.id)
                promote_fixed_cases(
                    with_store,
                    candidate,
                    approver=", ".join(approvers),
                    config_commit=main_head(candidate.repo, candidate.main_branch),
                )
        finally:
            with_store.close()

    return close
