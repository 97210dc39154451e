"""Case sets: content-hash versions, stratified sampling, a stable held-out split, storage."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import Base
from flywheel.trace import Trace
from replay import (
    Case,
    ReplayStore,
    Suite,
    case_from_trace,
    regression_set,
    split_cluster,
    validation_set,
)
from replay import _tables as replay_tables
from replay._cases import build_regression_set, fixed_failures
from tests.helpers.replay import CLUSTER, DemoWorld
from tests.helpers.world import FAILING, load_traffic, ship_fix


def _trace(i: int, route: str, intent: str, session: str | None = None) -> Trace:
    return Trace.model_validate(
        {
            "trace_id": f"t{i:04d}",
            "input": {"input": f"request {i}"},
            "session_id": session,
            "timestamp": datetime(2026, 11, 16, tzinfo=UTC),
            "steps": [{"id": "r", "type": "router", "output": {"route": route}}],
            "metadata": {"intent": intent, "seed": i},
        }
    )


REPLAY_TABLES = {
    table.__tablename__
    for table in vars(replay_tables).values()
    if isinstance(table, type) and issubclass(table, Base) and table is not Base
}


def _ours(_object: object, name: str | None, type_: str, *_args: object) -> bool:
    """Compare the replay tables only: other packages' migrations own the rest."""
    return type_ != "table" or name in REPLAY_TABLES


def test_migration_0005_matches_the_replay_tables(store: Store) -> None:
    """On every backend (PostgreSQL too when FLYWHEEL_TEST_POSTGRES_URL is set)."""
    assert {t.name for t in Base.metadata.sorted_tables if t.name.startswith("replay_")} == (
        REPLAY_TABLES
    )
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _ours}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert set(inspect(store.engine).get_table_names()) >= REPLAY_TABLES


def test_a_case_keeps_the_request_its_seed_time_and_annotations() -> None:
    trace = _trace(1, "search", "account", session="s1")
    trace.metadata["expected"] = {"route": "search", "must_cite": True}
    case = case_from_trace(trace, signals=["low_score", "complaint", "low_score"])
    assert case.inputs == {
        "input": "request 1",
        "seed": 1,
        "timestamp": "2026-11-16T00:00:00+00:00",
    }
    assert case.session_id == "s1"
    assert case.signals == ("complaint", "low_score")
    assert case.expected.route == "search"
    assert case.expected.must_cite
    trace.metadata["expected"] = {"rout": "search"}
    with pytest.raises(UserError, match=r"metadata\.expected"):
        case_from_trace(trace)


def test_the_held_out_split_of_a_trace_never_depends_on_the_others() -> None:
    ids = [f"t{i}" for i in range(1000)]
    _, held = split_cluster(ids, holdout=0.3, seed=4)
    assert 250 < len(held) < 350
    _, held_half = split_cluster(ids[:500], holdout=0.3, seed=4)
    assert set(held_half) == set(held) & set(ids[:500])
    _, other_seed = split_cluster(ids, holdout=0.3, seed=5)
    assert set(other_seed) != set(held)


def test_regression_sample_is_stratified_like_the_traffic() -> None:
    mix = {
        ("direct", "chitchat"): 500,
        ("search", "account"): 300,
        ("tool", "status"): 190,
        ("search", "policy"): 10,
    }
    traces, i = [], 0
    for (route, intent), n in mix.items():
        for _ in range(n):
            traces.append((_trace(i, route, intent), None))
            i += 1
    sample = regression_set(traces, size=100, seed=3)
    strata = Counter(case.stratum for case in sample.cases)
    assert strata == {
        "direct|chitchat|-": 50,
        "search|account|-": 30,
        "tool|status|-": 19,
        "search|policy|-": 1,
    }
    again = regression_set(list(reversed(traces)), size=100, seed=3)
    assert again.digest == sample.digest  # the input order does not matter
    assert regression_set(traces, size=100, seed=4).digest != sample.digest


def test_previously_fixed_failures_join_the_regression_set() -> None:
    traces = [(_trace(i, "direct", "chitchat"), None) for i in range(20)]
    fixed = Case(case_id="old-failure", inputs={"input": "fixed last week"})
    sample = regression_set(traces, size=5, fixed=[fixed])
    assert sample.cases[-1] == fixed
    assert sample.detail["fixed_failures"] == 1


def test_case_sets_are_stored_versioned_and_never_silently_change(
    tmp_path: Path, demo_world: DemoWorld
) -> None:
    store = ReplayStore(Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    first = demo_world.validation
    digest = store.save_case_set(first)
    assert store.save_case_set(first) == digest  # saving again is a no-op
    assert store.case_set(digest[:8]) == first
    grown = [g.trace for g in demo_world.traffic if g.failure_mode == "answered_from_memory"]
    second = validation_set(grown[:-3], cluster_id=CLUSTER, holdout=0.5, seed=1)
    assert second.digest != digest
    store.save_case_set(second)
    assert store.case_set(digest) == first  # the old version is still there, unchanged
    assert [row["digest"] for row in store.list_case_sets(Suite.validation)] == sorted(
        [digest, second.digest], key=lambda d: d != digest
    )
    assert store.latest_case_set(Suite.validation, CLUSTER) == second
    with pytest.raises(UserError, match="flywheel cases list"):
        store.case_set("ffffffff")


def test_failures_a_shipped_fix_repaired_join_every_later_regression_set(
    store: Store, tmp_path: Path
) -> None:
    load_traffic(store, tmp_path)
    assert fixed_failures(store) == []
    ship_fix(store)  # what the approval step does when a fix ships
    fixed = fixed_failures(store)
    assert sorted(c.case_id for c in fixed) == sorted(t.trace_id for t in FAILING[:4])
    assert {c.stratum for c in fixed} == {"fixed"}
    assert {c.cluster_id for c in fixed} == {"C-0001"}
    assert all(c.signals for c in fixed)  # "the failure recurs" is what they check
    regression = build_regression_set(store, size=5, fixed=fixed)
    assert {c.case_id for c in fixed} <= {c.case_id for c in regression.cases}
