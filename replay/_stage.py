"""The nightly ``gate`` and ``drift`` stages.

``gate`` rebuilds the regression set from recent traffic (plus every fixed failure), keeps the
newest blocking set people chose, builds each cluster's validation slice (the optimizer's
frozen held-out traces when the candidate names them), checks that the agent answers at all
on main, then gates every pending candidate of the core's providers; decisions are stored as
`flywheel gate` stores them. ``drift`` replays main on the regression set and records its pass
rate, night after night (`flywheel.nightly.drift_history`).

Errored cases are retried on a rerun (``retry_errors``): an infrastructure failure of one night
must not become a cached verdict. An agent that fails on every case of main fails the stage.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flywheel.candidates import CandidateSpec, close_failed_candidate, pending_candidates
from flywheel.config import HarnessOptions
from flywheel.errors import UserError
from flywheel.nightly import StageContext, StageResult, drift_history
from flywheel.project import Project
from flywheel.store import Store
from replay._adapters import AgentAdapter, adapter_from_spec
from replay._candidates import baseline_ref
from replay._cases import (
    build_regression_set,
    build_validation_slice,
    case_from_trace,
    fixed_failures,
)
from replay._executor import with_executor
from replay._models import CaseSet, ConfigRef, Suite
from replay._run import SuiteRun, gate_candidate, replay_config
from replay._store import ReplayStore


def _agent(project: Project, options: HarnessOptions) -> AgentAdapter:
    spec = project.settings.replay.agent
    if not spec:
        raise UserError(
            "no agent to replay: set [replay] agent in flywheel.toml "
            "(python:package.module:function, http:URL or langgraph:...)"
        )
    agent = adapter_from_spec(spec, concurrency=options.concurrency)
    return with_executor(agent, project.settings.compute, concurrency=options.concurrency)


def _options(project: Project) -> HarnessOptions:
    return project.settings.replay.harness.model_copy(update={"retry_errors": True})


def regression_cases(store: Store, project: Project, *, rebuild: bool) -> CaseSet | None:
    """Tonight's regression set (rebuilt and saved when ``rebuild``, else the newest stored)."""
    rstore = ReplayStore(store)
    if not rebuild:
        latest = rstore.latest_case_set(Suite.regression)
        if latest is not None:
            return latest
    if store.count_traces() == 0:
        return None
    nightly = project.settings.nightly
    case_set = build_regression_set(
        store,
        size=nightly.regression_size,
        days=nightly.regression_days,
        fixed=fixed_failures(store),
    )
    rstore.save_case_set(case_set)
    return case_set


def validation_cases(store: Store, spec: CandidateSpec) -> CaseSet | None:
    """The cluster's held-out slice: the candidate's frozen validation traces if it names
    them (the optimizer never saw those), else replay's own held-out part of the cluster."""
    if spec.cluster_id is None:
        return None
    if not spec.validation_trace_ids:
        case_set = build_validation_slice(store, spec.cluster_id)
    else:
        cases = []
        for trace_id in sorted(spec.validation_trace_ids):
            stored = store.get_trace(trace_id)
            kinds = [signal.kind.value for signal in store.signals_of(stored.pk)]
            cases.append(
                case_from_trace(
                    stored.trace,
                    cluster_id=spec.cluster_id,
                    stratum=spec.cluster_id,
                    signals=kinds,
                )
            )
        case_set = CaseSet(
            name=f"validation-{spec.cluster_id}",
            suite=Suite.validation,
            cluster_id=spec.cluster_id,
            cases=tuple(cases),
            detail={"source": "optimizer split", "traces": len(cases)},
        )
    ReplayStore(store).save_case_set(case_set)
    return case_set


def _check_agent(runs: dict[Suite, SuiteRun], where: Path) -> None:
    """Raise when the agent errored on every case: nothing tonight could be judged."""
    results = [r for run in runs.values() for r in run.outcome.results]
    if results and all(r.error_kind is not None for r in results):
        first = next((r.error for r in results if r.error), "no detail")
        raise UserError(
            f"the agent failed on all {len(results)} cases of main ({where}); first error: "
            f"{' '.join(str(first).split())[:200]}. Check [replay] agent, then run "
            "`flywheel nightly` again"
        )


def _counts(runs: dict[Suite, SuiteRun]) -> dict[str, int]:
    totals = {"ran": 0, "cached": 0, "pass": 0, "fail": 0, "error": 0}
    for run in runs.values():
        for key, value in run.outcome.counts().items():
            if key in totals:
                totals[key] += value
    return totals


class GateStage:
    name = "gate"

    def run(self, context: StageContext) -> StageResult:
        return asyncio.run(self._run(context))

    async def _run(self, context: StageContext) -> StageResult:
        store, project = context.store, context.project
        rstore = ReplayStore(store)
        gated = {str(d["candidate_id"]) for d in rstore.gate_decisions()}
        open_specs = pending_candidates(store, project)
        family: dict[str | None, int] = {}
        for spec in open_specs:  # Holm's family: every open candidate of the cluster
            family[spec.cluster_id] = family.get(spec.cluster_id, 0) + 1
        specs = [spec for spec in open_specs if spec.id not in gated]
        regression = regression_cases(store, project, rebuild=True)
        gated_now: list[str] = []
        totals = {"ran": 0, "cached": 0}
        if specs:
            gated_now = await self._gate(context, rstore, specs, family, regression, totals)
        # An attempt killed after some decisions were stored (before the stage finished)
        # left those candidates open: they are closed and reported like tonight's own.
        earlier = _decided_since(rstore, context.run_started_at)
        by_id = {spec.id: spec for spec in open_specs}
        decisions: list[dict[str, Any]] = []
        for candidate_id in sorted(earlier | set(gated_now), key=_candidate_order):
            latest = rstore.gate_decisions(candidate_id)[-1]  # a later member may revise one
            report = latest["report"]
            decisions.append(
                {
                    "candidate_id": candidate_id,
                    "cluster_id": latest["cluster_id"],
                    "decision": report["decision"],
                    "reasons": list(report["reasons"]),
                    "fixed": report["target"]["fixed"],
                    "broken": report["target"]["broken"],
                }
            )
        for item in decisions:  # a candidate the gate did not pass is closed, not left open
            if item["decision"] != "pass" and item["candidate_id"] in by_id:
                reason = f"gate {item['decision']}: " + "; ".join(item["reasons"])
                close_failed_candidate(store, project, by_id[item["candidate_id"]], reason=reason)
        if not decisions:
            return StageResult(
                summary={"decisions": [], "regression_set": _digest(regression)},
                counts={"candidates": 0, "ran": 0},
            )
        tally = {d: sum(1 for x in decisions if x["decision"] == d) for d in ("pass", "fail")}
        return StageResult(
            summary={
                "decisions": decisions,
                "regression_set": _digest(regression),
                "passed": tally["pass"],
                "failed": tally["fail"],
                "inconclusive": len(decisions) - tally["pass"] - tally["fail"],
            },
            counts={"candidates": len(gated_now), **totals},
        )

    async def _gate(
        self,
        context: StageContext,
        rstore: ReplayStore,
        specs: list[CandidateSpec],
        family: dict[str | None, int],
        regression: CaseSet | None,
        totals: dict[str, int],
    ) -> list[str]:
        """Gate each candidate (decisions stored as they are made); their ids."""
        store, project = context.store, context.project
        blocking = rstore.latest_case_set(Suite.blocking)
        options = _options(project)
        agent = _agent(project, options)
        done: list[str] = []
        checked: set[Path] = set()
        slices: dict[str, CaseSet | None] = {}
        try:
            for number, spec in enumerate(specs, 1):
                context.log(f"candidate {spec.id} ({number} of {len(specs)})")
                if spec.cluster_id is not None and spec.cluster_id not in slices:
                    slices[spec.cluster_id] = validation_cases(store, spec)
                sets = {
                    suite: case_set
                    for suite, case_set in (
                        (Suite.validation, slices.get(spec.cluster_id or "")),
                        (Suite.regression, regression),
                        (Suite.blocking, blocking),
                    )
                    if case_set is not None
                }
                if not sets:
                    raise UserError("no case sets to gate on: the store has no traces")
                common: dict[str, Any] = {
                    "store": rstore,
                    "agent": agent,
                    "case_sets": sets,
                    "options": options,
                    "progress": context.progress,
                }
                baseline = baseline_ref(spec)
                if baseline.directory not in checked:
                    base = await replay_config(baseline, label="baseline", **common)
                    _check_agent(base, baseline.directory)
                    checked.add(baseline.directory)
                    for key, value in _counts(base).items():
                        if key in totals:
                            totals[key] += value
                await gate_candidate(
                    spec,
                    store=rstore,
                    agent=agent,
                    options=options,
                    gate=project.settings.replay.gate,
                    case_sets=sets,
                    progress=context.progress,
                    family_size=family.get(spec.cluster_id) if spec.cluster_id else None,
                )
                done.append(spec.id)
        finally:
            await agent.aclose()
        return done


def _decided_since(rstore: ReplayStore, began: datetime | None) -> set[str]:
    """Candidates first gated since ``began`` (this nightly run); not those gated on an
    earlier night whose decision a family member revised tonight (the queue revisits those)."""
    if began is None:
        return set()
    first: dict[str, datetime] = {}
    for row in rstore.gate_decisions():  # oldest first
        stamp = _utc(row["created_at"])
        if stamp is not None:
            first.setdefault(str(row["candidate_id"]), stamp)
    return {candidate for candidate, stamp in first.items() if stamp >= began}


def _candidate_order(candidate_id: str) -> tuple[int, int, str]:
    """Numeric ids (the optimizer's) in number order, then the others by name."""
    return (0, int(candidate_id), "") if candidate_id.isdigit() else (1, 0, candidate_id)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _digest(case_set: CaseSet | None) -> str | None:
    return case_set.digest if case_set is not None else None


class DriftStage:
    """Main's pass rate on the regression set, stored night by night."""

    name = "drift"

    def run(self, context: StageContext) -> StageResult:
        return asyncio.run(self._run(context))

    async def _run(self, context: StageContext) -> StageResult:
        store, project = context.store, context.project
        main = project.config_repo
        if main is None:
            raise UserError(
                "no configuration repository to replay main from; set config_repo in "
                "flywheel.toml (`flywheel init --config DIR`)"
            )
        regression = regression_cases(store, project, rebuild="gate" not in context.previous)
        if regression is None:
            return StageResult(summary={"note": "no traces yet"}, counts={"ran": 0})
        options = _options(project)
        agent = _agent(project, options)
        try:
            runs = await replay_config(
                ConfigRef(directory=main),
                store=ReplayStore(store),
                agent=agent,
                case_sets={Suite.regression: regression},
                options=options,
                label="main drift",
                progress=context.progress,
            )
        finally:
            await agent.aclose()
        _check_agent(runs, main)
        counts = _counts(runs)
        judged = counts["pass"] + counts["fail"]
        rate = counts["pass"] / judged if judged else None
        history = drift_history(store)
        before = history[-1][1] if history else None
        return StageResult(
            summary={
                "pass_rate": rate,
                "cases": len(regression.cases),
                "errors": counts["error"],
                "previous_pass_rate": before,
                "delta": None if rate is None or before is None else rate - before,
                "regression_set": regression.digest,
                "config_digest": runs[Suite.regression].outcome.config_digest,
            },
            counts={"ran": counts["ran"]},
        )
