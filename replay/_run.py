"""Replay a candidate and its baseline on the stored suites, then gate it and store the decision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console

from flywheel.candidates import CandidateSpec
from flywheel.config import GateConfig, HarnessOptions
from flywheel.errors import UserError
from replay._adapters import AgentAdapter
from replay._candidates import baseline_ref, config_ref
from replay._family import family_p_values, record_gate_decision
from replay._gate import GateReport, evaluate_gate
from replay._harness import ReplayOutcome, replay_case_set
from replay._models import CaseSet, ConfigRef, Suite
from replay._pairing import PairedSuite, pair_results
from replay._scorers import Scorer
from replay._store import ReplayStore


@dataclass
class SuiteRun:
    case_set: CaseSet
    outcome: ReplayOutcome


def suite_case_sets(
    store: ReplayStore, cluster_id: str | None, suites: Sequence[Suite] = tuple(Suite)
) -> dict[Suite, CaseSet]:
    """The newest stored case set of each suite (validation: of the candidate's cluster)."""
    found: dict[Suite, CaseSet] = {}
    for suite in suites:
        if suite is Suite.validation and cluster_id is None:
            continue
        latest = store.latest_case_set(suite, cluster_id if suite is Suite.validation else None)
        if latest is not None:
            found[suite] = latest
    if not found:
        raise UserError("no stored case sets to replay; build them with `flywheel cases build ...`")
    return found


async def replay_config(
    config: ConfigRef,
    *,
    store: ReplayStore,
    agent: AgentAdapter,
    case_sets: dict[Suite, CaseSet],
    options: HarnessOptions | None = None,
    scorers: Sequence[Scorer] | None = None,
    label: str,
    candidate_id: str | None = None,
    progress: bool | Console = False,
) -> dict[Suite, SuiteRun]:
    """Replay one configuration on each case set (cached results are reused)."""
    runs: dict[Suite, SuiteRun] = {}
    for suite, case_set in case_sets.items():
        outcome = await replay_case_set(
            case_set,
            config,
            agent,
            store=store,
            scorers=scorers,
            options=options,
            label=f"{label} {suite.value}",
            candidate_id=candidate_id,
            progress=progress,
        )
        runs[suite] = SuiteRun(case_set, outcome)
    return runs


async def gate_candidate(
    candidate: CandidateSpec,
    *,
    store: ReplayStore,
    agent: AgentAdapter,
    options: HarnessOptions | None = None,
    gate: GateConfig | None = None,
    scorers: Sequence[Scorer] | None = None,
    case_sets: dict[Suite, CaseSet] | None = None,
    progress: bool | Console = False,
    family_size: int | None = None,
) -> GateReport:
    """Replay baseline and candidate on the same cases and repeats, decide, store the decision.

    The target test is Holm-corrected over the candidates of the cluster gated on the same
    validation slice; storing this decision revises theirs (`replay._family`). Pass
    ``family_size``, the number of candidates proposed for the cluster, when it is known.
    """
    sets = case_sets if case_sets is not None else suite_case_sets(store, candidate.cluster_id)
    common = {
        "store": store,
        "agent": agent,
        "case_sets": sets,
        "options": options,
        "scorers": scorers,
        "progress": progress,
    }
    base = await replay_config(baseline_ref(candidate), label="baseline", **common)  # type: ignore[arg-type]
    cand = await replay_config(
        config_ref(candidate),
        label=candidate.id,
        candidate_id=candidate.id,
        **common,  # type: ignore[arg-type]
    )
    paired: dict[Suite, PairedSuite] = {
        suite: pair_results(sets[suite], base[suite].outcome.results, cand[suite].outcome.results)
        for suite in sets
    }
    slice_digest = sets[Suite.validation].digest if Suite.validation in sets else None
    family = (
        family_p_values(store, candidate.cluster_id, slice_digest)
        if candidate.cluster_id and slice_digest
        else {}
    )
    report = evaluate_gate(
        candidate_id=candidate.id,
        cluster_id=candidate.cluster_id,
        validation=paired.get(Suite.validation),
        regression=paired.get(Suite.regression),
        blocking=paired.get(Suite.blocking),
        config=gate,
        family_p_values=family,
        family_size=family_size,
        slice_digest=slice_digest,
    )
    return record_gate_decision(
        store,
        report,
        baseline_digest=baseline_ref(candidate).digest,
        candidate_digest=config_ref(candidate).digest,
        family_size=family_size,
    )
