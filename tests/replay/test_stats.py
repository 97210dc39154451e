"""The gate's statistics against known answers, simulated effects and its false-positive rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from replay import GateConfig, evaluate_gate
from replay._pairing import PairedSuite, Side
from replay._stats import (
    holm,
    mcnemar_exact,
    mcnemar_mde,
    mcnemar_power,
    paired_bootstrap_ci,
    ratio_ci,
)


def test_exact_mcnemar_matches_the_binomial_tail_by_hand() -> None:
    # 10 fixed, 2 broken: P(X >= 10 | n=12, p=1/2) = (66 + 12 + 1) / 4096
    assert mcnemar_exact(10, 2) == pytest.approx(79 / 4096, rel=1e-12)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 0) == pytest.approx(1 / 32)
    # one-sided: more broken than fixed is no evidence of improvement
    assert mcnemar_exact(2, 10) == pytest.approx(stats.binom.sf(1, 12, 0.5))


def test_holm_adjusts_step_down_and_keeps_the_input_order() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5]) == [0.5]
    assert holm([0.9, 0.8]) == [1.0, 1.0]  # 2 * 0.8 is capped at 1, and never decreases


def test_mde_is_where_the_exact_power_reaches_the_target() -> None:
    mde = mcnemar_mde(60, alpha=0.05, power=0.8)
    assert mde is not None
    assert mcnemar_power(60, mde) == pytest.approx(0.8, abs=1e-3)
    # with no broken cases the test needs d_min = 5 discordant pairs (0.5**5 <= 0.05):
    # power = P(Binom(60, mde) >= 5)
    assert stats.binom.sf(4, 60, mde) == pytest.approx(0.8, abs=1e-3)
    assert mcnemar_mde(4) is None  # four cases can never reach p <= 0.05
    bigger, noisier = mcnemar_mde(200), mcnemar_mde(60, broken_rate=0.05)
    assert bigger is not None
    assert bigger < mde  # more cases, smaller detectable effects
    assert noisier is not None
    assert noisier > mde  # noise in both directions costs power


def test_power_matches_a_simulation() -> None:
    rng = np.random.default_rng(3)
    n, improvement, broken_rate = 50, 0.2, 0.05
    draws = rng.multinomial(
        n, [improvement + broken_rate, broken_rate, 1 - improvement - 2 * broken_rate], size=4000
    )
    rejected = np.mean([mcnemar_exact(int(b), int(c)) <= 0.05 for b, c, _ in draws])
    assert rejected == pytest.approx(
        mcnemar_power(n, improvement, broken_rate=broken_rate), abs=0.03
    )


def test_bootstrap_interval_of_a_known_difference() -> None:
    rng = np.random.default_rng(0)
    base = rng.random(400) < 0.7
    cand = base.copy()
    flip = rng.choice(400, 40, replace=False)
    cand[flip] = ~cand[flip]
    ci = paired_bootstrap_ci(base, cand, seed=1)
    assert ci.method == "BCa"
    assert ci.estimate == pytest.approx(cand.mean() - base.mean())
    assert ci.low < ci.estimate < ci.high
    # the half-width is near the normal-theory value sd(diff) / sqrt(n) * 1.96
    diff = cand.astype(float) - base
    expected = 1.96 * diff.std(ddof=1) / math.sqrt(400)
    assert (ci.high - ci.low) / 2 == pytest.approx(expected, rel=0.15)
    assert paired_bootstrap_ci(base, cand, seed=1) == ci  # seeded: the same numbers again


def test_bootstrap_coverage_with_session_clusters() -> None:
    """Cases of a session share a shift; resampling sessions keeps the 95 % CI honest."""
    rng = np.random.default_rng(11)
    covered, runs = 0, 150
    for _ in range(runs):
        sessions = np.repeat(np.arange(60), 4)
        shift = rng.normal(0, 0.6, 60)[sessions]  # strong within-session correlation
        base = (rng.normal(0, 1, 240) + shift) > 0
        cand = (rng.normal(0, 1, 240) + shift - 0.1) > 0.0
        ci = paired_bootstrap_ci(
            base, cand, clusters=list(sessions), n_resamples=500, seed=int(rng.integers(1 << 30))
        )
        # population difference: P(z + s > 0.1) - P(z + s > 0), z ~ N(0,1), s ~ N(0, 0.6)
        sd = math.sqrt(1 + 0.36)
        delta = stats.norm.sf(0.1 / sd) - stats.norm.sf(0)
        covered += ci.low <= delta <= ci.high
    assert covered / runs >= 0.9


def test_cases_of_one_session_count_as_one_unit_of_evidence() -> None:
    """When a session's cases move together, the clustered interval is about sqrt(4) wider."""
    rng = np.random.default_rng(4)
    sessions = np.repeat(np.arange(80), 4)
    base = np.ones(320)
    cand = np.repeat(rng.random(80) < 0.85, 4).astype(float)  # whole sessions break together
    clustered = paired_bootstrap_ci(base, cand, clusters=list(sessions), seed=1)
    naive = paired_bootstrap_ci(base, cand, seed=1)
    assert clustered.estimate == naive.estimate
    ratio = (clustered.high - clustered.low) / (naive.high - naive.low)
    assert 1.6 < ratio < 2.4


def test_guardrail_ratio_of_a_known_scale() -> None:
    rng = np.random.default_rng(5)
    base = rng.lognormal(6, 0.4, 500)
    cand = base * 1.5
    ci = ratio_ci(base, cand, statistic="p95", seed=2)
    assert ci.estimate == pytest.approx(1.5)
    mean = ratio_ci(base, cand * rng.uniform(0.9, 1.1, 500), statistic="mean", seed=2)
    assert mean.low < 1.5 < mean.high
    assert ratio_ci(np.zeros(5), np.zeros(5), statistic="mean").estimate == 1.0


def _suite(base: np.ndarray, cand: np.ndarray) -> PairedSuite:
    n = len(base)

    def side(rates: np.ndarray) -> Side:
        ones = np.ones(n)
        return Side(rates.astype(float), ones * 100, ones * 0.01, ones, 0, n, {})

    ids = [f"c{i}" for i in range(n)]
    return PairedSuite(ids, ids, [None] * n, side(base), side(cand))


@pytest.mark.slow
def test_the_gate_passes_a_null_candidate_at_most_alpha_of_the_time() -> None:
    """No effect anywhere: the whole gate (target, regression, guardrails) over 500 worlds."""
    rng = np.random.default_rng(2024)
    config = GateConfig(min_improvement=0.0, bootstrap_resamples=200, alpha=0.05)
    passes, runs = 0, 500
    for _ in range(runs):
        # target slice: 40 failing cases; each has the same 30 % chance to pass either way
        base_t = rng.random(40) < 0.3
        cand_t = rng.random(40) < 0.3
        # regression: 150 cases, the same 80 % pass rate on both sides
        base_r = rng.random(150) < 0.8
        cand_r = np.where(rng.random(150) < 0.9, base_r, rng.random(150) < 0.8)
        report = evaluate_gate(
            candidate_id="null",
            cluster_id="C-1",
            validation=_suite(base_t, cand_t),
            regression=_suite(base_r, cand_r),
            blocking=None,
            config=config,
        )
        passes += report.decision == "pass"
    assert passes / runs <= 0.05


def test_mcnemar_false_positive_rate_stays_under_alpha() -> None:
    rng = np.random.default_rng(7)
    rejections = 0
    for _ in range(3000):
        base = rng.random(50) < 0.4
        cand = rng.random(50) < 0.4
        p = mcnemar_exact(int(np.sum(~base & cand)), int(np.sum(base & ~cand)))
        rejections += p <= 0.05
    assert rejections / 3000 <= 0.05


def test_a_real_effect_is_detected_and_holm_counts_the_family() -> None:
    rng = np.random.default_rng(9)
    base = np.zeros(60, bool)
    cand = rng.random(60) < 0.35  # the fix repairs about a third of the slice
    ok = evaluate_gate(
        candidate_id="a",
        cluster_id="C",
        validation=_suite(base, cand),
        regression=_suite(np.ones(50), np.ones(50)),
        blocking=None,
    )
    assert ok.decision == "pass", ok.reasons
    assert ok.target.p_value_holm == ok.target.p_value
    crowded = evaluate_gate(
        candidate_id="a",
        cluster_id="C",
        validation=_suite(base, cand),
        regression=_suite(np.ones(50), np.ones(50)),
        blocking=None,
        family_p_values={f"other{i}": 0.5 for i in range(9)},
    )
    assert crowded.target.family_size == 10
    assert ok.target.p_value is not None
    assert crowded.target.p_value_holm == pytest.approx(min(1, 10 * ok.target.p_value))


# -- reference values, simulated effects and error rates added with the Holm family ----------


@pytest.mark.parametrize(("fixed", "broken"), [(0, 1), (1, 0), (3, 3), (7, 1), (12, 30), (40, 21)])
def test_exact_mcnemar_equals_scipys_binomtest(fixed: int, broken: int) -> None:
    reference = stats.binomtest(fixed, fixed + broken, 0.5, alternative="greater").pvalue
    assert mcnemar_exact(fixed, broken) == pytest.approx(reference, rel=1e-12)


def test_holm_matches_r_p_adjust() -> None:
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm")
    assert holm([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    # R: p.adjust(c(0.04, 0.001, 0.03, 0.2), "holm") -> 0.09 0.004 0.09 0.2
    assert holm([0.04, 0.001, 0.03, 0.2]) == pytest.approx([0.09, 0.004, 0.09, 0.2])


def test_the_bca_interval_is_scipys_on_unclustered_cases() -> None:
    rng = np.random.default_rng(0)
    base = (rng.random(200) < 0.7).astype(float)
    cand = (rng.random(200) < 0.75).astype(float)
    ours = paired_bootstrap_ci(base, cand, seed=3, n_resamples=2000)
    reference = stats.bootstrap(
        (cand - base,), np.mean, method="BCa", n_resamples=2000, rng=np.random.default_rng(3)
    ).confidence_interval
    assert ours.method == "BCa"
    assert (ours.low, ours.high) == pytest.approx((reference.low, reference.high), abs=1e-12)


def _flat(n: int = 40) -> PairedSuite:
    return _suite(np.ones(n), np.ones(n))


def test_the_gate_detects_an_effect_of_the_reported_mde_with_the_stated_power() -> None:
    """A fix that repairs each failing case with probability MDE passes ~80 % of the time."""
    config = GateConfig(min_improvement=0.0, bootstrap_resamples=200)
    n, runs = 60, 600
    probe = evaluate_gate(
        candidate_id="x",
        cluster_id="C",
        validation=_suite(np.zeros(n), np.zeros(n)),
        regression=_flat(),
        blocking=None,
        config=config,
    )
    mde = probe.target.mde
    assert mde is not None
    assert mde == mcnemar_mde(n, alpha=config.alpha, power=config.power)
    rng = np.random.default_rng(17)
    passes = sum(
        evaluate_gate(
            candidate_id="x",
            cluster_id="C",
            validation=_suite(np.zeros(n), rng.random(n) < mde),
            regression=_flat(),
            blocking=None,
            config=config,
        ).decision
        == "pass"
        for _ in range(runs)
    )
    assert passes / runs == pytest.approx(0.8, abs=0.06)
    half = sum(  # half the MDE: clearly less power
        evaluate_gate(
            candidate_id="x",
            cluster_id="C",
            validation=_suite(np.zeros(n), rng.random(n) < mde / 2),
            regression=_flat(),
            blocking=None,
            config=config,
        ).decision
        == "pass"
        for _ in range(200)
    )
    assert half / 200 < 0.5


def test_holm_keeps_the_family_wise_error_of_a_cluster_under_alpha() -> None:
    """500 clusters, each with three no-effect candidates gated one after the other: the share
    of clusters where any candidate passes stays <= alpha with Holm, and exceeds it without."""
    from replay._gate import holm_in_family

    rng = np.random.default_rng(99)
    config = GateConfig(min_improvement=0.0, bootstrap_resamples=200)
    runs, per_cluster = 500, 3
    any_pass = any_uncorrected = 0
    for _ in range(runs):
        reports = []
        raw: dict[str, float] = {}
        for k in range(per_cluster):
            base, cand = rng.random(40) < 0.3, rng.random(40) < 0.3
            report = evaluate_gate(
                candidate_id=f"k{k}",
                cluster_id="C",
                validation=_suite(base, cand),
                regression=_flat(),
                blocking=None,
                config=config,
                family_p_values=raw,
            )
            assert report.target.p_value is not None
            raw[f"k{k}"] = report.target.p_value
            reports.append(report)
        final = [  # the stored decisions once the family is complete
            r.with_family(*holm_in_family(r.candidate_id, raw[r.candidate_id], raw, 3))
            for r in reports
        ]
        any_pass += any(r.decision == "pass" for r in final)
        any_uncorrected += any(p <= config.alpha for p in raw.values())
    assert any_pass / runs <= config.alpha
    assert any_uncorrected / runs > config.alpha  # the correction is what keeps it there


def test_noninferiority_passes_a_true_loss_of_the_margin_at_most_alpha_over_2() -> None:
    """True pass-rate difference = -margin: the lower bound clears -margin <= 2.5 % of runs."""
    rng = np.random.default_rng(5)
    margin, n, runs = 0.03, 200, 300
    cleared = cleared_at_zero = 0
    for _ in range(runs):
        base = rng.random(n) < 0.8
        # flip 5 % of passes to fails and 5 % of fails to passes: E[diff] = -0.04 + 0.01
        flip = rng.random(n) < 0.05
        cand = np.where(flip, ~base, base)
        ci = paired_bootstrap_ci(base, cand, n_resamples=300, seed=int(rng.integers(1 << 30)))
        cleared += ci.low > -margin
        same = np.where(rng.random(n) < 0.05, rng.random(n) < 0.8, base)  # no true change
        ci0 = paired_bootstrap_ci(base, same, n_resamples=300, seed=int(rng.integers(1 << 30)))
        cleared_at_zero += ci0.low > -margin
    assert cleared / runs <= 0.05
    assert cleared_at_zero / runs > 0.3  # and it does pass candidates that lose nothing
