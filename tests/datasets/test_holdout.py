"""The frozen holdout: purpose-checked reads, every read logged, tampering shown."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from flywheel.datasets import (
    HoldoutAccessDenied,
    HoldoutGuard,
    HoldoutProtected,
    HoldoutPurpose,
    HoldoutTampered,
    add_case,
    get_case,
    holdout_reads,
    list_cases,
    move_case,
    verify_datasets,
)
from flywheel.datasets._tables import EvalCaseRow
from flywheel.errors import UserError
from flywheel.store import Store


def _freeze(store: Store) -> list[str]:
    return [
        add_case(store, t, role="holdout", added_by="eve").case_id for t in ("fail-4", "fail-5")
    ]


@pytest.mark.parametrize(
    "purpose", ["optimization", "tuning", "few_shot_selection", "threshold_tuning"]
)
def test_an_optimizer_cannot_read_the_holdout_and_the_attempt_is_logged(
    loaded: Store, purpose: str
) -> None:
    _freeze(loaded)
    guard = HoldoutGuard(loaded, reader="optimizers.rules")
    with pytest.raises(HoldoutAccessDenied, match="may not read the frozen holdout"):
        guard.read(purpose)
    [entry] = holdout_reads(loaded)
    assert (entry.reader, entry.purpose, entry.allowed, entry.cases) == (
        "optimizers.rules",
        purpose,
        False,
        0,
    )


def test_allowed_reads_return_the_cases_and_are_logged_with_the_hash(loaded: Store) -> None:
    ids = _freeze(loaded)
    cases = HoldoutGuard(loaded, reader="nightly").read(HoldoutPurpose.final_evaluation)
    assert sorted(c.case_id for c in cases) == sorted(ids)
    ids_only = HoldoutGuard(loaded, reader="export").trace_ids()
    assert ids_only == {"fail-4", "fail-5"}
    reads = holdout_reads(loaded)
    assert [(r.purpose, r.allowed, r.cases) for r in reads] == [
        ("exclusion", True, 2),
        ("final_evaluation", True, 2),
    ]
    assert reads[0].content_hash
    assert reads[0].content_hash == reads[1].content_hash
    with pytest.raises(UserError, match="allowed: final_evaluation, audit"):
        HoldoutGuard(loaded, reader="x").read("peek")


def test_the_holdout_is_not_readable_or_movable_outside_the_guard(loaded: Store) -> None:
    ids = _freeze(loaded)
    assert list_cases(loaded) == []  # every role but the holdout
    with pytest.raises(HoldoutProtected):
        list_cases(loaded, "holdout")
    with pytest.raises(HoldoutProtected):
        get_case(loaded, ids[0])
    with pytest.raises(HoldoutProtected, match="frozen"):
        move_case(loaded, ids[0], to="backlog", actor="eve")
    backlog = add_case(loaded, "fail-1", role="backlog", added_by="eve")
    with pytest.raises(HoldoutProtected):
        move_case(loaded, backlog.case_id, to="holdout", actor="eve")


def test_a_tampered_holdout_is_refused_and_verify_names_it(loaded: Store) -> None:
    ids = _freeze(loaded)
    assert verify_datasets(loaded).ok
    with loaded.engine.begin() as conn:  # someone swaps a holdout case behind Flywheel's back
        row = conn.execute(select(EvalCaseRow).where(EvalCaseRow.case_id == ids[0])).one()
        body = {**row.body, "inputs": {"input": "an easier question"}}
        conn.execute(
            update(EvalCaseRow)
            .where(EvalCaseRow.case_id == ids[0])
            .values(body=body, digest="0" * 32)
        )
    with pytest.raises(HoldoutTampered, match="flywheel datasets verify"):
        HoldoutGuard(loaded, reader="nightly").read("final_evaluation")
    assert not holdout_reads(loaded)[0].allowed
    report = verify_datasets(loaded)
    assert not report.ok
    assert any("holdout" in p for p in report.problems)
