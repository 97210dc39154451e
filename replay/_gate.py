"""The gate: pass / fail / inconclusive for one candidate, with every reason and number.

A candidate passes only when (1) it significantly fixes its target slice (exact one-sided
McNemar, Holm-corrected over the cluster's candidates, see `replay._family`) by at least
``min_improvement``,
(2) it is non-inferior on the regression set (BCa lower bound of the pass-rate difference
above ``-margin``), (3) no blocking case that passed at baseline fails, and (4) latency,
cost and tool calls stay within their budgets. Too many infrastructure errors, or too few
cases to judge, make the decision "inconclusive" — never "pass".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from flywheel.config import GateConfig
from replay._pairing import PairedSuite
from replay._stats import (
    holm,
    mcnemar_exact,
    mcnemar_mde,
    noninferiority_mde,
    paired_bootstrap_ci,
    ratio_ci,
)

Decision = Literal["pass", "fail", "inconclusive"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetReport(_Out):
    cases: int = 0
    baseline_pass: float | None = None
    candidate_pass: float | None = None
    fixed: int = 0
    broken: int = 0
    p_value: float | None = None
    p_value_holm: float | None = None
    family_size: int = 1
    #: Digest of the validation slice version: the candidates gated on it form Holm's family.
    slice_digest: str | None = None
    #: Holm-adjusted p-value <= alpha (None: too few cases to judge, or no slice).
    significant: bool | None = None
    improvement: float | None = None
    mde: float | None = None


class RegressionReport(_Out):
    cases: int = 0
    sessions: int = 0
    delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    margin: float = 0.0
    method: str = ""
    mde: float | None = None


class BlockingReport(_Out):
    cases: int = 0
    broken: list[str] = Field(default_factory=list)
    unverified: list[str] = Field(default_factory=list)


class GuardrailReport(_Out):
    latency_p95_ratio: float | None = None
    cost_ratio: float | None = None
    tool_calls_ratio: float | None = None
    latency_p95_ci: tuple[float, float] | None = None
    cost_ci: tuple[float, float] | None = None
    tool_calls_ci: tuple[float, float] | None = None
    budgets: dict[str, float] = Field(default_factory=dict)


class GateReport(_Out):
    """The decision and every number behind it (stored, printed by `flywheel gate --json`)."""

    candidate_id: str
    cluster_id: str | None = None
    decision: Decision
    reasons: list[str]
    target: TargetReport
    regression: RegressionReport
    blocking: BlockingReport
    guardrails: GuardrailReport
    #: Infrastructure errors per suite and side: {"validation": {"baseline": 0, ...}}.
    errors: dict[str, dict[str, int]] = Field(default_factory=dict)
    config: GateConfig
    #: Every reason except the target's significance, which `with_family` derives again from
    #: ``target.p_value_holm`` whenever the cluster's family of candidates changes.
    fail_reasons: list[str] = Field(default_factory=list)
    inconclusive_reasons: list[str] = Field(default_factory=list)
    #: Set when a later member of the Holm family changed this stored decision.
    revised: str | None = None

    def with_family(self, p_value_holm: float, family_size: int) -> GateReport:
        """This decision under another Holm family: the adjusted p-value and family size change,
        and with them the target's significance, the reasons and the decision."""
        target = self.target
        significant = None if target.significant is None else p_value_holm <= self.config.alpha
        target = target.model_copy(
            update={
                "p_value_holm": p_value_holm,
                "family_size": family_size,
                "significant": significant,
            }
        )
        return _decided(self.model_copy(update={"target": target}))


def _decided(report: GateReport) -> GateReport:
    """Decision and reasons from the stored reasons and the target's significance."""
    fails = list(report.fail_reasons)
    target = report.target
    if target.significant is False:
        fails.insert(
            0,
            f"target: improvement not significant ({target.fixed} fixed, {target.broken} "
            f"broken, p={target.p_value:.3g}, Holm-adjusted over {target.family_size} "
            f"candidates {target.p_value_holm:.3g} > alpha {report.config.alpha})",
        )
    unsure = report.inconclusive_reasons
    decision: Decision = "fail" if fails else "inconclusive" if unsure else "pass"
    reasons = fails + unsure if decision != "pass" else ["every check passed"]
    return report.model_copy(update={"decision": decision, "reasons": reasons})


def evaluate_gate(
    *,
    candidate_id: str,
    cluster_id: str | None,
    validation: PairedSuite | None,
    regression: PairedSuite | None,
    blocking: PairedSuite | None,
    config: GateConfig | None = None,
    family_p_values: Mapping[str, float] | None = None,
    family_size: int | None = None,
    slice_digest: str | None = None,
) -> GateReport:
    """Decide on one candidate.

    ``family_p_values``: raw p-values of the cluster's other candidates gated on the same
    validation slice (by id), for Holm's correction; this candidate's own entry is replaced.
    ``family_size``: the number of candidates the family will hold, when known in advance;
    members not gated yet count with p = 1 (see `replay._family`). ``slice_digest``: the
    validation slice version, stored with the decision to find the family later.
    """
    config = config or GateConfig()
    fails: list[str] = []
    unsure: list[str] = []
    errors: dict[str, dict[str, int]] = {}
    for name, suite in (
        ("validation", validation),
        ("regression", regression),
        ("blocking", blocking),
    ):
        if suite is None:
            continue
        errors[name] = {
            "baseline": suite.baseline.errors,
            "candidate": suite.candidate.errors,
            "runs": suite.candidate.runs,
        }
        for side_name, side in (("baseline", suite.baseline), ("candidate", suite.candidate)):
            if side.error_rate > config.max_error_rate:
                unsure.append(
                    f"{name}: {side.errors} of {side.runs} {side_name} runs were infrastructure "
                    f"errors ({side.error_rate:.0%} > {config.max_error_rate:.0%}) "
                    f"{dict(sorted(side.errors_by_kind.items()))}"
                )
    others = {cid: p for cid, p in (family_p_values or {}).items() if cid != candidate_id}
    target = _target(validation, config, fails, unsure)
    target.slice_digest = slice_digest
    regression_report, guardrails = _regression(regression, cluster_id, config, fails, unsure)
    blocking_report = _blocking(blocking, fails, unsure)
    report = GateReport(
        candidate_id=candidate_id,
        cluster_id=cluster_id,
        decision="inconclusive",
        reasons=[],
        target=target,
        regression=regression_report,
        blocking=blocking_report,
        guardrails=guardrails,
        errors=errors,
        config=config,
        fail_reasons=fails,
        inconclusive_reasons=unsure,
    )
    if target.p_value is None:
        return _decided(report)
    size = max(family_size or 0, 1 + len(others))
    return report.with_family(*holm_in_family(candidate_id, target.p_value, others, size))


def holm_in_family(
    candidate_id: str, p_value: float, others: Mapping[str, float], family_size: int
) -> tuple[float, int]:
    """Holm-adjusted p-value of one candidate among ``others`` (raw p-values by id), in a
    family of ``family_size`` (>= 1 + len(others)); members not gated yet count as p = 1."""
    others = {cid: p for cid, p in others.items() if cid != candidate_id}
    size = max(family_size, 1 + len(others))
    pending = [1.0] * (size - 1 - len(others))
    return holm([p_value, *others.values(), *pending])[0], size


def _target(
    suite: PairedSuite | None, config: GateConfig, fails: list[str], unsure: list[str]
) -> TargetReport:
    """The target slice's numbers; significance is left to `GateReport.with_family`."""
    if suite is None or not suite.case_ids:
        unsure.append("target: no validation slice to judge the fix on")
        return TargetReport()
    judged = suite.subset(suite.valid)
    n = len(judged.case_ids)
    base = judged.baseline.pass_rate > 0.5  # a case passes when most of its repeats pass
    cand = judged.candidate.pass_rate > 0.5
    fixed, broken = int(np.sum(~base & cand)), int(np.sum(base & ~cand))
    p = mcnemar_exact(fixed, broken)
    improvement = float(cand.mean() - base.mean()) if n else None
    report = TargetReport(
        cases=n,
        baseline_pass=float(base.mean()) if n else None,
        candidate_pass=float(cand.mean()) if n else None,
        fixed=fixed,
        broken=broken,
        p_value=p,
        p_value_holm=p,
        significant=p <= config.alpha,
        improvement=improvement,
        mde=mcnemar_mde(n, alpha=config.alpha, power=config.power),
    )
    if n < config.min_validation_cases:
        unsure.append(
            f"target: only {n} judged cases (< min_validation_cases {config.min_validation_cases})"
        )
        report.significant = None
        return report
    if improvement is not None and improvement < config.min_improvement:
        fails.append(
            f"target: pass rate {report.baseline_pass:.1%} -> {report.candidate_pass:.1%} "
            f"improves by {improvement:+.1%}, under the minimum {config.min_improvement:.1%}"
        )
    return report


def _regression(
    suite: PairedSuite | None,
    cluster_id: str | None,
    config: GateConfig,
    fails: list[str],
    unsure: list[str],
) -> tuple[RegressionReport, GuardrailReport]:
    guard = GuardrailReport(
        budgets={
            "latency_p95": config.latency_p95_budget,
            "cost": config.cost_budget,
            "tool_calls": config.tool_calls_budget,
        }
    )
    margin = config.noninferiority_margin
    if suite is None or not suite.case_ids:
        unsure.append("regression: no regression set to check other traffic on")
        return RegressionReport(margin=margin), guard
    keep = suite.valid
    if config.exclude_target_cluster and cluster_id is not None:
        keep = keep & np.array([c != cluster_id for c in suite.clusters])
    judged = suite.subset(keep)
    n = len(judged.case_ids)
    if n < 2:
        unsure.append(f"regression: only {n} judged cases")
        return RegressionReport(cases=n, margin=margin), guard
    ci = paired_bootstrap_ci(
        judged.baseline.pass_rate,
        judged.candidate.pass_rate,
        clusters=judged.sessions,
        confidence=config.confidence,
        n_resamples=config.bootstrap_resamples,
        seed=config.seed,
    )
    report = RegressionReport(
        cases=n,
        sessions=len(set(judged.sessions)),
        delta=ci.estimate,
        ci_low=ci.low,
        ci_high=ci.high,
        margin=margin,
        method=ci.method,
        mde=noninferiority_mde(ci, confidence=config.confidence, power=config.power),
    )
    if not math.isfinite(ci.low):
        unsure.append("regression: the interval of the pass-rate difference is undefined")
    elif ci.low < -margin:
        fails.append(
            f"regression: pass rate changes by {ci.estimate:+.1%} "
            f"(CI {ci.low:+.1%} .. {ci.high:+.1%}); the lower bound is below -{margin:.1%}"
        )
    checks = (
        (
            "latency_p95",
            "p95",
            judged.baseline.latency_ms,
            judged.candidate.latency_ms,
            config.latency_p95_budget,
        ),
        ("cost", "mean", judged.baseline.cost_usd, judged.candidate.cost_usd, config.cost_budget),
        (
            "tool_calls",
            "mean",
            judged.baseline.tool_calls,
            judged.candidate.tool_calls,
            config.tool_calls_budget,
        ),
    )
    values: dict[str, object] = {}
    for name, stat, base, cand, budget in checks:
        interval = ratio_ci(
            base,
            cand,
            statistic=stat,  # type: ignore[arg-type]
            confidence=config.confidence,
            n_resamples=config.bootstrap_resamples,
            seed=config.seed,
        )
        key = "latency_p95" if name == "latency_p95" else name
        values[f"{key}_ratio"] = _finite(interval.estimate)
        values[f"{key}_ci"] = (interval.low, interval.high)
        judged_value = interval.estimate if config.guardrail_bound == "estimate" else interval.high
        if judged_value > budget:
            fails.append(
                f"guardrail {name}: ratio to baseline {interval.estimate:.2f} "
                f"(CI {interval.low:.2f} .. {interval.high:.2f}) exceeds the budget {budget:.2f}"
            )
    guard = guard.model_copy(update=values)
    return report, guard


def _blocking(suite: PairedSuite | None, fails: list[str], unsure: list[str]) -> BlockingReport:
    if suite is None or not suite.case_ids:
        return BlockingReport()
    base, cand = suite.baseline.pass_rate, suite.candidate.pass_rate
    passed_before = base == 1.0  # every baseline repeat passed
    broken = [
        cid
        for cid, was, now in zip(suite.case_ids, passed_before, cand, strict=True)
        if was and not np.isnan(now) and now < 1.0
    ]
    unverified = [
        cid
        for cid, was, now in zip(suite.case_ids, passed_before, cand, strict=True)
        if was and np.isnan(now)
    ]
    if broken:
        fails.append(
            f"blocking: {len(broken)} case(s) passed at baseline and fail now: "
            f"{', '.join(broken[:5])}"
        )
    if unverified:
        unsure.append(
            f"blocking: {len(unverified)} case(s) could not be replayed (errors): "
            f"{', '.join(unverified[:5])}"
        )
    return BlockingReport(cases=len(suite.case_ids), broken=broken, unverified=unverified)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
