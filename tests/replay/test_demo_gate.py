"""On the demo world: a real fix passes, always-search fails on other traffic, a no-op fails."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from flywheel.store import Store
from replay import (
    GateReport,
    HarnessOptions,
    PythonAdapter,
    ReplayStore,
    adhoc_candidate,
    gate_candidate,
)
from tests.helpers.replay import CLUSTER, DemoWorld
from tests.replay.agents import demo_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gate_store(
    tmp_path_factory: pytest.TempPathFactory, demo_world: DemoWorld
) -> Iterator[ReplayStore]:
    path = tmp_path_factory.mktemp("gate") / "db.sqlite"
    store = Store.open(f"sqlite:///{path}")
    replay_store = ReplayStore(store)
    for case_set in (demo_world.validation, demo_world.regression, demo_world.blocking):
        replay_store.save_case_set(case_set)
    yield replay_store
    store.close()


def _gate(world: DemoWorld, store: ReplayStore, config: Path, name: str) -> GateReport:
    candidate = adhoc_candidate(config, world.baseline, cluster_id=CLUSTER, candidate_id=name)
    return asyncio.run(
        gate_candidate(
            candidate,
            store=store,
            agent=PythonAdapter(demo_run),
            options=HarnessOptions(concurrency=8, repeats=2),
        )
    )


def test_the_routing_fix_passes(demo_world: DemoWorld, gate_store: ReplayStore) -> None:
    report = _gate(demo_world, gate_store, demo_world.routing_fix, "routing-fix")
    assert report.decision == "pass", report.reasons
    assert report.target.fixed > 10
    assert report.target.broken == 0
    assert report.target.p_value is not None
    assert report.target.p_value < 0.001
    assert report.regression.ci_low is not None
    assert report.regression.ci_low >= -0.03
    assert report.blocking.broken == []
    stored = gate_store.gate_decisions("routing-fix")
    assert stored[-1]["decision"] == "pass"
    assert stored[-1]["report"]["target"]["fixed"] == report.target.fixed


def test_always_search_fixes_its_target_but_fails_on_other_traffic(
    demo_world: DemoWorld, gate_store: ReplayStore
) -> None:
    report = _gate(demo_world, gate_store, demo_world.always_search, "always-search")
    assert report.decision == "fail"
    assert report.target.fixed > 10  # the tempting part: the target slice does improve
    failed = " ".join(report.reasons)
    assert "regression:" in failed or "guardrail" in failed
    assert report.guardrails.tool_calls_ratio is not None
    assert report.guardrails.tool_calls_ratio > 1.25


def test_a_no_op_candidate_fails(demo_world: DemoWorld, gate_store: ReplayStore) -> None:
    report = _gate(demo_world, gate_store, demo_world.noop, "noop")
    assert report.decision == "fail"
    assert (report.target.fixed, report.target.broken) == (0, 0)
    assert any("not significant" in reason for reason in report.reasons)
    # Holm: the family is every candidate of the cluster gated so far, this one included
    assert report.target.family_size == len(gate_store.cluster_p_values(CLUSTER))
