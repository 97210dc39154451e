"""The optimisation / validation split: recorded, seeded, stratified, and never leaked."""

from __future__ import annotations

import pytest

from flywheel.store import Store
from optimizers import OptimizerStore, SplitViolation, build_task, make_split
from tests.optimizers.conftest import make_trace


def _signatures() -> dict[str, str]:
    return {f"a{i}": "route-a" for i in range(10)} | {f"b{i}": "route-b" for i in range(5)}


def test_split_is_seeded_stratified_and_disjoint() -> None:
    split = make_split("C-0001", _signatures(), seed=7, fraction=0.4)
    again = make_split("C-0001", _signatures(), seed=7, fraction=0.4)
    validation = split.validation_ids_for_replay()
    assert validation == again.validation_ids_for_replay()
    assert split.optimisation_ids == again.optimisation_ids
    assert not set(validation) & set(split.optimisation_ids)
    assert set(validation) | set(split.optimisation_ids) == set(_signatures())
    # Each signature is represented on both sides, in proportion.
    assert sum(v.startswith("a") for v in validation) == 4
    assert sum(v.startswith("b") for v in validation) == 2
    other = make_split("C-0001", _signatures(), seed=8, fraction=0.4)
    assert other.validation_ids_for_replay() != validation


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
        fix_type="prompt_instruction",
        config_files={},
    )
    seen = {t.trace_id for t in task.failing} | {t.trace_id for t in task.neighbours}
    assert seen
    assert not seen & validation
    assert "validation" not in task.model_dump_json()
    leaked = task.model_copy(update={"failing": traces})
    with pytest.raises(SplitViolation, match="validation trace"):
        split.check(leaked)
