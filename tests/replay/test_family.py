"""Holm across the candidates of a cluster: the family, its revisions, known answers."""

from __future__ import annotations

import numpy as np
import pytest

from flywheel.store import Store
from replay import GateConfig, GateReport, ReplayStore, evaluate_gate
from replay._family import family_p_values, record_gate_decision
from replay._pairing import PairedSuite, Side
from replay._stats import holm

CONFIG = GateConfig(bootstrap_resamples=200, min_improvement=0.0)
SLICE = "a" * 32
# one-sided exact McNemar with no broken case: p = 2 ** -fixed
P_A, P_B, P_NULL = 2.0**-8, 2.0**-5, 0.75  # 8 fixed; 5 fixed; 1 fixed and 1 broken


def _side(rates: np.ndarray) -> Side:
    ones = np.ones(len(rates))
    return Side(rates.astype(float), ones * 100, ones * 0.01, ones, 0, len(rates), {})


def _suite(base: np.ndarray, cand: np.ndarray) -> PairedSuite:
    ids = [f"c{i}" for i in range(len(base))]
    return PairedSuite(ids, ids, [None] * len(base), _side(base), _side(cand))


def _target(fixed: int, broken: int = 0, n: int = 20) -> PairedSuite:
    base = np.zeros(n)
    cand = np.zeros(n)
    cand[:fixed] = 1
    base[fixed : fixed + broken] = 1
    return _suite(base, cand)


def _gate(
    rstore: ReplayStore,
    candidate_id: str,
    fixed: int,
    broken: int = 0,
    *,
    family_size: int | None = None,
    slice_digest: str = SLICE,
) -> GateReport:
    report = evaluate_gate(
        candidate_id=candidate_id,
        cluster_id="C-1",
        validation=_target(fixed, broken),
        regression=_suite(np.ones(40), np.ones(40)),
        blocking=None,
        config=CONFIG,
        family_p_values=family_p_values(rstore, "C-1", slice_digest),
        family_size=family_size,
        slice_digest=slice_digest,
    )
    return record_gate_decision(
        rstore, report, baseline_digest="b" * 32, candidate_digest="c" * 32, family_size=family_size
    )


def _stored(rstore: ReplayStore, candidate_id: str) -> GateReport:
    row = rstore.gate_decisions(candidate_id)[-1]
    report = GateReport.model_validate(row["report"])
    assert row["decision"] == report.decision  # the column and the report agree
    return report


@pytest.fixture
def rstore(store: Store) -> ReplayStore:
    return ReplayStore(store)


def test_a_later_candidate_revises_the_stored_decisions_of_the_family(
    rstore: ReplayStore,
) -> None:
    a = _gate(rstore, "A", 8)
    assert a.target.p_value == pytest.approx(P_A)
    assert (a.decision, a.target.family_size, a.target.p_value_holm) == (
        "pass",
        1,
        a.target.p_value,
    )

    b = _gate(rstore, "B", 5)
    # Holm over {A, B}: A 2 * 2^-8, B max(2 * 2^-8, 2^-5) = 2^-5
    assert b.target.p_value_holm == pytest.approx(P_B)
    assert b.decision == "pass", b.reasons
    assert _stored(rstore, "A").target.p_value_holm == pytest.approx(2 * P_A)

    c = _gate(rstore, "C", 1, 1)
    assert c.decision == "fail"
    # Holm over {A, B, C}: A 3 * 2^-8, B max(3 * 2^-8, 2 * 2^-5) = 0.0625 > 0.05, C 0.75
    stored_b = _stored(rstore, "B")
    assert stored_b.target.p_value_holm == pytest.approx(2 * P_B)
    assert stored_b.target.family_size == 3
    assert stored_b.decision == "fail"
    assert stored_b.reasons[0].startswith("target: improvement not significant")
    assert stored_b.revised is not None
    assert "pass -> fail" in stored_b.revised
    assert "candidate C joined" in stored_b.revised
    stored_a = _stored(rstore, "A")
    assert (stored_a.decision, stored_a.revised) == ("pass", None)
    assert stored_a.target.p_value_holm == pytest.approx(3 * P_A)
    # the stored family is exactly one batch Holm over the three raw p-values
    batch = holm([P_A, P_B, P_NULL])
    assert [_stored(rstore, cid).target.p_value_holm for cid in "ABC"] == pytest.approx(batch)


def test_a_declared_family_size_makes_early_decisions_final(rstore: ReplayStore) -> None:
    a = _gate(rstore, "A", 8, family_size=3)
    # the two candidates not gated yet count as p = 1: 3 * 2^-8
    assert a.target.family_size == 3
    assert a.target.p_value_holm == pytest.approx(3 * P_A)
    b = _gate(rstore, "B", 5, family_size=3)
    assert b.target.p_value_holm == pytest.approx(2 * P_B)
    assert b.decision == "fail"
    _gate(rstore, "C", 1, 1, family_size=3)
    assert [_stored(rstore, cid).decision for cid in "ABC"] == ["pass", "fail", "fail"]
    assert all(_stored(rstore, cid).revised is None for cid in "ABC")  # nothing flipped
    batch = holm([P_A, P_B, P_NULL])
    assert [_stored(rstore, cid).target.p_value_holm for cid in "ABC"] == pytest.approx(batch)


def test_a_fail_on_significance_alone_turns_into_a_pass_when_the_family_is_complete(
    rstore: ReplayStore,
) -> None:
    b = _gate(rstore, "B", 5, family_size=2)  # 2 * 2^-5 = 0.0625 with A still pending
    assert b.decision == "fail"
    _gate(rstore, "A", 8, family_size=2)
    stored_b = _stored(rstore, "B")
    assert stored_b.target.p_value_holm == pytest.approx(P_B)  # max(2 * 2^-8, 2^-5)
    assert stored_b.decision == "pass"
    assert stored_b.reasons == ["every check passed"]
    assert stored_b.revised is not None
    assert "fail -> pass" in stored_b.revised


def test_families_are_per_slice_version_and_a_regate_replaces_its_entry(
    rstore: ReplayStore,
) -> None:
    _gate(rstore, "A", 8)
    other = _gate(rstore, "B", 5, slice_digest="f" * 32)  # a new version of the slice
    assert other.target.family_size == 1
    assert other.target.p_value_holm == pytest.approx(P_B)
    again = _gate(rstore, "A", 6)  # re-gated (main moved on): A's latest p-value counts
    assert again.target.family_size == 1
    assert again.target.p_value == pytest.approx(2.0**-6)
    assert family_p_values(rstore, "C-1", SLICE) == {"A": pytest.approx(2.0**-6)}
    assert len(rstore.gate_decisions("A")) == 2  # the history is kept


def test_an_inconclusive_target_keeps_its_reason_when_the_family_changes(
    rstore: ReplayStore,
) -> None:
    report = evaluate_gate(
        candidate_id="small",
        cluster_id="C-1",
        validation=_target(4, n=6),  # under min_validation_cases
        regression=_suite(np.ones(40), np.ones(40)),
        blocking=None,
        config=CONFIG,
        slice_digest=SLICE,
    )
    assert report.target.significant is None
    revised = report.with_family(1.0, 5)
    assert revised.decision == "inconclusive"
    assert revised.reasons == report.reasons
