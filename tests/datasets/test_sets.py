"""Eval sets: promotion of shipped fixes, the backlog, versions, the blocking set's sign-off."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from flywheel.config import DatasetsConfig
from flywheel.datasets import (
    Role,
    SignOff,
    SignOffRequired,
    Tag,
    add_case,
    current_version,
    list_cases,
    move_case,
    regression_cases,
    set_thresholds,
    set_versions,
    sync_backlog,
    verify_datasets,
)
from flywheel.datasets._tables import DatasetAuditRow, EvalCaseRow, EvalSetVersionRow
from flywheel.errors import UserError
from flywheel.store import Store
from tests.helpers.world import FAILING, fixed_answer, record_cluster, ship_fix

OWNERS = DatasetsConfig(owners=["olivia"])


def test_a_shipped_fix_grows_the_regression_set_and_bumps_its_version(loaded: Store) -> None:
    assert current_version(loaded, Role.regression) is None
    first = ship_fix(loaded, traces=FAILING[:2])
    assert sorted(first.added)
    assert first.version is not None
    v1 = current_version(loaded, Role.regression)
    assert v1 is not None
    assert (v1.version, v1.size) == (1, 2)

    second = ship_fix(loaded, cluster_id="C-0002", traces=FAILING[2:5])
    assert len(second.added) == 3
    v2 = current_version(loaded, Role.regression)
    assert v2 is not None
    assert (v2.version, v2.size) == (2, 5)
    assert v2.content_hash != v1.content_hash
    # old versions are kept
    assert [v.version for v in set_versions(loaded, "regression")] == [2, 1]

    again = ship_fix(loaded, cluster_id="C-0002", traces=FAILING[2:5])
    assert again.version is None
    assert not again.added
    assert current_version(loaded, Role.regression) == v2

    cases = {c.origin.trace_id: c for c in regression_cases(loaded)}
    assert set(cases) == {t.trace_id for t in FAILING[:5]}
    case = cases["fail-3"]
    assert case.expected.reference_output == fixed_answer(FAILING[3])
    assert case.failing_output == FAILING[3].output
    assert case.inputs == FAILING[3].input
    assert (case.origin.cluster_id, case.origin.root_cause) == ("C-0002", "prompt_instruction")
    assert Tag.regression in case.tags
    assert case.provenance.model_dump() == {
        "trace_ids": ("fail-3",),
        "cluster": "C-0002",
        "candidate": "flywheel/C-0002/rules-1",
        "replay_run": "run-42",
        "approver": "alice",
        "config_commit": "abc1234",
    }


def test_promotion_reports_unknown_traces_and_leaves_blocking_cases(loaded: Store) -> None:
    add_case(
        loaded,
        "fail-0",
        role=Role.blocking,
        added_by="bob",
        signoff=SignOff(owner="olivia", reason="severe"),
        config=OWNERS,
    )
    result = ship_fix(loaded, traces=FAILING[:2])
    assert "fail-0" in result.skipped
    assert "blocking" in result.skipped["fail-0"]
    assert [c.origin.trace_id for c in list_cases(loaded, "regression")] == ["fail-1"]


def test_new_clusters_land_in_the_backlog_once(loaded: Store) -> None:
    record_cluster(loaded, "C-0007", [t.trace_id for t in FAILING])
    result = sync_backlog(loaded, config=DatasetsConfig(backlog_cases_per_cluster=3))
    assert result.clusters == ["C-0007"]
    assert result.cases_added == 3
    backlog = list_cases(loaded, Role.backlog)
    assert len(backlog) == 3
    assert "fail-0" in {c.origin.trace_id for c in backlog}  # the exemplar comes first
    assert all(c.origin.cluster_id == "C-0007" and c.failing_output for c in backlog)
    again = sync_backlog(loaded)
    assert (again.cases_added, again.version) == (0, None)

    # the fix ships: the backlog cases of the cluster move to the regression set
    shipped = ship_fix(loaded, cluster_id="C-0007", traces=FAILING)
    assert len(shipped.moved) == 3
    assert len(shipped.added) == 3
    assert list_cases(loaded, Role.backlog) == []
    backlog_version = current_version(loaded, Role.backlog)
    assert backlog_version is not None
    assert (backlog_version.version, backlog_version.size) == (2, 0)


def test_the_blocking_set_changes_only_with_an_owners_signoff(loaded: Store) -> None:
    with pytest.raises(SignOffRequired, match="no owners are configured"):
        add_case(loaded, "fail-1", role="blocking", added_by="bob")
    with pytest.raises(SignOffRequired, match="--signoff OWNER"):
        add_case(loaded, "fail-1", role="blocking", added_by="bob", config=OWNERS)
    with pytest.raises(SignOffRequired, match="not an owner"):
        add_case(
            loaded,
            "fail-1",
            role="blocking",
            added_by="bob",
            signoff=SignOff(owner="mallory", reason="trust me"),
            config=OWNERS,
        )
    assert list_cases(loaded) == []
    case = add_case(
        loaded,
        "fail-1",
        role="blocking",
        added_by="bob",
        tags=["golden"],
        signoff=SignOff(owner="olivia", reason="S1 money"),
        config=OWNERS,
    )
    version = current_version(loaded, Role.blocking)
    assert version is not None
    assert version.signoff_id is not None
    with pytest.raises(SignOffRequired):
        set_thresholds(loaded, "blocking", {"min_pass_rate": 0.9}, actor="bob", config=OWNERS)
    with pytest.raises(SignOffRequired):
        move_case(loaded, case.case_id, to="monitoring", actor="bob", config=OWNERS)
    changed = set_thresholds(
        loaded,
        "blocking",
        {"min_pass_rate": 1.0},
        actor="bob",
        signoff=SignOff(owner="olivia", reason="no failures allowed"),
        config=OWNERS,
    )
    assert changed is not None
    assert changed.thresholds == {"min_pass_rate": 1.0}
    assert changed.content_hash != version.content_hash
    with loaded.engine.connect() as conn:
        entries = conn.execute(select(DatasetAuditRow).order_by(DatasetAuditRow.id)).all()
    assert [(e.actor, e.action) for e in entries] == [("olivia", "blocking_signoff")] * 2
    assert entries[1].detail["requested_by"] == "bob"
    assert verify_datasets(loaded).ok


def test_promote_and_demote_follow_the_ladder(loaded: Store) -> None:
    case = add_case(loaded, "fail-2", role="backlog", added_by="bob")
    with pytest.raises(UserError, match="is a promote"):
        move_case(loaded, case.case_id, to="monitoring", actor="bob", direction="demote")
    moved = move_case(loaded, case.case_id, to="regression", actor="bob", direction="promote")
    assert moved.role is Role.regression
    with pytest.raises(UserError, match="already in the regression set"):
        move_case(loaded, case.case_id, to="regression", actor="bob")
    with pytest.raises(UserError, match="valid: backlog, monitoring"):
        move_case(loaded, case.case_id, to="gold", actor="bob")
    newest = {role: current_version(loaded, role) for role in (Role.backlog, Role.regression)}
    assert [(v.version, v.size) for v in newest.values() if v] == [(2, 0), (1, 1)]


def test_verify_shows_a_case_edited_behind_flywheels_back(loaded: Store) -> None:
    ship_fix(loaded, traces=FAILING[:2])
    assert verify_datasets(loaded).ok
    with loaded.engine.begin() as conn:
        row = conn.execute(select(EvalCaseRow).limit(1)).one()
        body = dict(row.body)
        body["expected"] = {"reference_output": "something else"}
        conn.execute(
            update(EvalCaseRow).where(EvalCaseRow.case_id == row.case_id).values(body=body)
        )
    report = verify_datasets(loaded)
    assert not report.ok
    assert any(row.case_id in p and "edited" in p for p in report.problems)


def test_verify_finds_a_deleted_signoff_that_a_blocking_version_points_to(loaded: Store) -> None:
    """Probe: deleting the last sign-off (so the chain stays consistent) passed verify."""
    add_case(
        loaded,
        "fail-1",
        role="blocking",
        added_by="bob",
        signoff=SignOff(owner="olivia", reason="S1 money"),
        config=OWNERS,
    )
    version = current_version(loaded, Role.blocking)
    assert version is not None
    assert version.signoff_id is not None
    with loaded.engine.begin() as conn:
        conn.execute(delete(DatasetAuditRow).where(DatasetAuditRow.id == version.signoff_id))

    report = verify_datasets(loaded)

    assert not report.ok
    assert report.problems == [
        f"blocking set version 1: its sign-off (audit entry {version.signoff_id}) is missing "
        "from the audit log (deleted)"
    ]


def test_verify_finds_a_signoff_reference_pointed_at_another_record(loaded: Store) -> None:
    add_case(loaded, "fail-2", role="holdout", added_by="eve")  # a holdout freeze entry
    add_case(
        loaded,
        "fail-1",
        role="blocking",
        added_by="bob",
        signoff=SignOff(owner="olivia", reason="S1 money"),
        config=OWNERS,
    )
    with loaded.engine.begin() as conn:
        conn.execute(
            update(EvalSetVersionRow)
            .where(EvalSetVersionRow.role == "blocking")
            .values(signoff_id=1)
        )
    problems = verify_datasets(loaded).problems
    assert any("audit entry 1 is a " in p and "not the sign-off" in p for p in problems)
