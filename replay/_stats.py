"""The gate's statistics (scipy): exact McNemar, Holm, paired / clustered BCa bootstrap, MDE.

Choices, and why:

- **Target slice: exact McNemar, one-sided.** Baseline and candidate run the same cases, so
  the evidence is in the discordant pairs: ``fixed`` (baseline failed, candidate passed) and
  ``broken`` (the reverse). Under "no effect" each discordant pair is a fair coin, so the
  one-sided p-value is ``P(Binom(fixed + broken, 1/2) >= fixed)`` (`scipy.stats.binomtest`).
  Exact, so it stays valid on the small slices a cluster gives (McNemar 1947; Fagerland,
  Lydersen & Laake 2013 recommend the exact or mid-p form for small samples).
- **Holm** over the candidates of one cluster: the family-wise error stays at alpha however
  many candidates an optimizer proposes (Holm 1979); step-down, uniformly more powerful than
  Bonferroni.
- **Regression set: non-inferiority by a paired bootstrap BCa interval** of the pass-rate
  difference (candidate - baseline). Cases that share a session are not independent, so the
  resampling unit is the session: the statistic is the ratio estimator sum(diffs) / sum(cases)
  over resampled sessions (Field & Welsh 2007, cluster bootstrap). BCa corrects bias and
  skew (Efron 1987); `scipy.stats.bootstrap` computes it.
- **Guardrails: ratios** candidate / baseline of p95 latency, mean cost and mean tool calls,
  with paired bootstrap intervals over cases.
- **Minimum detectable effect (McNemar).** The smallest true improvement ``Δ = p10 - p01``
  that the exact one-sided test detects with the given power on ``n`` cases, assuming the
  candidate breaks a share ``p01`` of cases (0 by default): the number of discordant pairs is
  ``D ~ Binom(n, Δ + 2 p01)``, the fixes among them ``B | D ~ Binom(D, (Δ + p01)/(Δ + 2 p01))``,
  and power is ``sum_d P(D = d) P(B >= crit(d) | d)`` with ``crit(d)`` the smallest count the
  exact test rejects at alpha. Solved for Δ by root finding (power increases with Δ).

Everything is seeded: the same inputs give the same intervals.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class Interval:
    """A point estimate and its two-sided confidence interval."""

    estimate: float
    low: float
    high: float
    method: str = "BCa"


def mcnemar_exact(fixed: int, broken: int) -> float:
    """One-sided exact McNemar p-value for "the candidate passes more cases than baseline"."""
    from scipy import stats

    if fixed < 0 or broken < 0:
        raise ValueError("counts must be non-negative")
    if fixed + broken == 0:
        return 1.0
    return float(stats.binomtest(fixed, fixed + broken, 0.5, alternative="greater").pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@lru_cache(maxsize=256)
def _critical_counts(n: int, alpha: float) -> NDArray[np.int64]:
    """For d = 0..n discordant pairs, the smallest number of fixes the exact test rejects at."""
    from scipy import stats

    crit = np.full(n + 1, np.iinfo(np.int64).max, dtype=np.int64)
    for d in range(1, n + 1):
        b = np.arange(d + 1)
        p = stats.binom.sf(b - 1, d, 0.5)  # P(B >= b)
        ok = np.nonzero(p <= alpha)[0]
        if ok.size:
            crit[d] = int(ok[0])
    return crit


def mcnemar_power(
    n: int, improvement: float, *, alpha: float = 0.05, broken_rate: float = 0.0
) -> float:
    """Power of the one-sided exact McNemar test on ``n`` cases (see the module docstring)."""
    from scipy import stats

    psi = improvement + 2 * broken_rate
    if n <= 0 or psi <= 0:
        return 0.0
    psi = min(psi, 1.0)
    d = np.arange(n + 1)
    crit = _critical_counts(n, alpha)
    share = (improvement + broken_rate) / psi
    reject = np.where(crit <= d, stats.binom.sf(np.minimum(crit, d + 1) - 1, d, share), 0.0)
    return float(np.sum(stats.binom.pmf(d, n, psi) * reject))


def mcnemar_mde(
    n: int, *, alpha: float = 0.05, power: float = 0.8, broken_rate: float = 0.0
) -> float | None:
    """Smallest improvement detectable with ``power``; None when n cases can never suffice."""
    from scipy import optimize

    top = 1.0 - 2 * broken_rate
    if n <= 0 or top <= 0 or mcnemar_power(n, top, alpha=alpha, broken_rate=broken_rate) < power:
        return None
    root = optimize.brentq(
        lambda delta: mcnemar_power(n, delta, alpha=alpha, broken_rate=broken_rate) - power,
        1e-9,
        top,
        xtol=1e-5,
    )
    return float(root)


def paired_bootstrap_ci(
    baseline: ArrayLike,
    candidate: ArrayLike,
    *,
    clusters: Sequence[object] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """BCa interval of mean(candidate - baseline) over paired cases, resampling clusters.

    ``baseline`` and ``candidate`` are per-case pass rates (0/1, or the share of repeats
    passed); ``clusters`` gives each case's session (None: every case is its own cluster).
    """
    base = np.asarray(baseline, dtype=float)
    cand = np.asarray(candidate, dtype=float)
    if base.shape != cand.shape or base.ndim != 1:
        raise ValueError("baseline and candidate must be 1-d arrays of equal length")
    diff = cand - base
    if diff.size == 0:
        return Interval(math.nan, math.nan, math.nan, "none")
    sums, sizes = _by_cluster(diff, clusters)
    estimate = float(sums.sum() / sizes.sum())
    if sums.size < 2 or np.ptp(sums / sizes) == 0:
        return Interval(estimate, estimate, estimate, "degenerate")

    def ratio(
        s: NDArray[np.float64], n: NDArray[np.float64], axis: int = -1
    ) -> NDArray[np.float64]:
        return np.asarray(s.sum(axis=axis) / n.sum(axis=axis))

    return _bootstrap((sums, sizes), ratio, estimate, confidence, n_resamples, seed)


def ratio_ci(
    baseline: ArrayLike,
    candidate: ArrayLike,
    *,
    statistic: Literal["mean", "p95"],
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Interval of stat(candidate) / stat(baseline) over paired cases (resampled together)."""
    base = np.asarray(baseline, dtype=float)
    cand = np.asarray(candidate, dtype=float)
    if base.size == 0:
        return Interval(math.nan, math.nan, math.nan, "none")

    def stat(x: NDArray[np.float64], axis: int = -1) -> NDArray[np.float64]:
        if statistic == "mean":
            return np.asarray(np.mean(x, axis=axis))
        return np.asarray(np.percentile(x, 95, axis=axis))

    def ratio(
        b: NDArray[np.float64], c: NDArray[np.float64], axis: int = -1
    ) -> NDArray[np.float64]:
        top, bottom = stat(c, axis), stat(b, axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(
                np.where(
                    bottom > 0,
                    top / np.where(bottom > 0, bottom, 1),
                    np.where(top > 0, np.inf, 1.0),
                )
            )

    estimate = float(ratio(base, cand))
    if base.size < 2 or (np.ptp(base) == 0 and np.ptp(cand) == 0) or not math.isfinite(estimate):
        return Interval(estimate, estimate, estimate, "degenerate")
    return _bootstrap((base, cand), ratio, estimate, confidence, n_resamples, seed)


def _by_cluster(
    values: NDArray[np.float64], clusters: Sequence[object] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if clusters is None:
        return values, np.ones_like(values)
    if len(clusters) != values.size:
        raise ValueError("one cluster label per case is required")
    index: dict[object, int] = {}
    ids = np.array([index.setdefault(c, len(index)) for c in clusters])
    sums = np.bincount(ids, weights=values).astype(float)
    sizes = np.bincount(ids).astype(float)
    return sums, sizes


def _bootstrap(
    data: tuple[NDArray[np.float64], NDArray[np.float64]],
    statistic: object,
    estimate: float,
    confidence: float,
    n_resamples: int,
    seed: int,
) -> Interval:
    """BCa, falling back to the percentile interval when BCa is undefined (degenerate data)."""
    from scipy import stats

    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DegenerateDataWarning: we check the result below
            result = stats.bootstrap(
                data,
                statistic,
                paired=True,
                vectorized=True,
                confidence_level=confidence,
                n_resamples=n_resamples,
                method=method,
                rng=np.random.default_rng(seed),
            )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return Interval(estimate, low, high, method)
    return Interval(estimate, -math.inf, math.inf, "undefined")


def z(confidence: float) -> float:
    """The standard normal quantile for a two-sided ``confidence`` level."""
    from scipy import stats

    return float(stats.norm.ppf(0.5 + confidence / 2))


def noninferiority_mde(
    interval: Interval, *, confidence: float, power: float = 0.8
) -> float | None:
    """The smallest true degradation the regression interval would reveal with ``power``.

    From the interval's half-width: SE ≈ half-width / z, MDE = (z + z_power) * SE.
    """
    from scipy import stats

    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return None
    se = (interval.high - interval.low) / 2 / z(confidence)
    return float((z(confidence) + stats.norm.ppf(power)) * se)
