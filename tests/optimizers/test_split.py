"""The optimisation / validation split: recorded, seeded, stratified, and never leaked."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.splits import is_held_out
from flywheel.store import Store
from optimizers import (
    ClusterInput,
    ConfigWorkspace,
    InlineExecutor,
    OptimizationTask,
    OptimizerStore,
    Proposal,
    SplitViolation,
    build_task,
    make_split,
    optimize,
)
from replay import validation_set
from tests.helpers.optimizers import make_trace


def _signatures() -> dict[str, str]:
    return {f"a{i}": "route-a" for i in range(10)} | {f"b{i}": "route-b" for i in range(5)}


def test_split_is_seeded_disjoint_and_follows_the_core_rule() -> None:
    split = make_split("C-0001", _signatures(), seed=7, fraction=0.4)
    again = make_split("C-0001", _signatures(), seed=7, fraction=0.4)
    validation = split.validation_ids_for_replay()
    assert validation == again.validation_ids_for_replay()
    assert split.optimisation_ids == again.optimisation_ids
    assert not set(validation) & set(split.optimisation_ids)
    assert set(validation) | set(split.optimisation_ids) == set(_signatures())
    assert validation == sorted(t for t in _signatures() if is_held_out(t, holdout=0.4, seed=7))
    other = make_split("C-0001", _signatures(), seed=8, fraction=0.4)
    assert other.validation_ids_for_replay() != validation


def test_a_trace_keeps_its_side_when_the_cluster_grows() -> None:
    small = make_split("C-0001", [f"t{i}" for i in range(40)], seed=0, fraction=0.3)
    grown = make_split("C-0001", [f"t{i}" for i in range(400)], seed=0, fraction=0.3)
    assert set(small.validation_ids_for_replay()) <= set(grown.validation_ids_for_replay())
    assert set(small.optimisation_ids) <= set(grown.optimisation_ids)
    assert 0.2 < len(grown.validation_ids_for_replay()) / 400 < 0.4


def test_the_optimizer_never_sees_a_trace_of_replays_validation_set(
    store: Store, workspace: ConfigWorkspace, tmp_path: Path
) -> None:
    """Both packages split with flywheel.splits: replay's held-out cases never reach a task."""
    traces = [
        make_trace(f"tr-{i:03d}", f"who owns account {i}?", route="direct") for i in range(60)
    ]
    seen: list[str] = []

    class Spy:
        name = "spy"

        def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
            seen.extend(t.trace_id for t in (*task.failing, *task.neighbours))
            return []

    cluster = ClusterInput(
        cluster_id="C-0001",
        root_cause="prompt_instruction",
        failing=traces,
        neighbours=traces[:10],
    )
    optimize(store, workspace, [cluster], strategies=[Spy()], executor=InlineExecutor())
    held = validation_set(traces, cluster_id="C-0001")  # replay's defaults
    held_ids = {case.case_id for case in held.cases}
    assert seen
    assert held_ids
    assert not held_ids & set(seen)
    assert held_ids | set(seen) >= {t.trace_id for t in traces}


def test_split_is_recorded_and_only_grows(store: Store) -> None:
    ostore = OptimizerStore(store)
    first = make_split("C-0001", _signatures(), seed=1, fraction=0.3)
    ostore.save_split(first)
    loaded = ostore.load_split("C-0001")
    assert loaded is not None
    assert loaded.validation_ids_for_replay() == first.validation_ids_for_replay()
    grown = make_split(
        "C-0001",
        _signatures() | {f"c{i}": "route-c" for i in range(4)},
        seed=1,
        fraction=0.3,
        previous=loaded,
    )
    assert set(first.validation_ids_for_replay()) <= set(grown.validation_ids_for_replay())
    assert set(first.optimisation_ids) <= set(grown.optimisation_ids)


def test_a_task_never_holds_validation_traces() -> None:
    traces = [make_trace(tid, f"request {tid}") for tid in _signatures()]
    split = make_split("C-0001", _signatures(), seed=3, fraction=0.3)
    validation = set(split.validation_ids_for_replay())
    task = build_task(
        split,
        traces,
        neighbours=traces,
        root_cause="prompt_instruction",
        fix_type="prompt_edit",
        config_files={},
    )
    seen = {t.trace_id for t in task.failing} | {t.trace_id for t in task.neighbours}
    assert seen
    assert not seen & validation
    assert "validation" not in task.model_dump_json()
    leaked = task.model_copy(update={"failing": traces})
    with pytest.raises(SplitViolation, match="validation trace"):
        split.check(leaked)
