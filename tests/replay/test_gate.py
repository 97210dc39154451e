"""The gate's decision rules: errors make it inconclusive, blocking cases, every reason given."""

from __future__ import annotations

from typing import Any

import numpy as np

from replay import Case, CaseResult, CaseSet, GateConfig, Status, Suite, evaluate_gate, pair_results
from replay._pairing import PairedSuite

CONFIG = GateConfig(bootstrap_resamples=200)


def _results(
    case_set: CaseSet, digest: str, statuses: list[str], *, latency: float = 100.0, tools: int = 1
) -> list[CaseResult]:
    return [
        CaseResult(
            config_digest=digest,
            case_digest=case.digest,
            case_id=case.case_id,
            repeat=0,
            status=Status(status),
            error_kind="agent" if status == "error" else None,
            error="boom" if status == "error" else None,
            latency_ms=latency,
            cost_usd=0.001,
            tool_calls=tools,
        )
        for case, status in zip(case_set.cases, statuses, strict=True)
    ]


def _set(suite: Suite, n: int, prefix: str) -> CaseSet:
    cases = tuple(Case(case_id=f"{prefix}{i}", inputs={"input": f"{prefix}{i}"}) for i in range(n))
    return CaseSet(name=prefix, suite=suite, cases=cases)


def _pair(suite: Suite, base: list[str], cand: list[str], **kw: Any) -> PairedSuite:
    case_set = _set(suite, len(base), suite.value[0])
    return pair_results(
        case_set, _results(case_set, "b", base), _results(case_set, "c", cand, **kw)
    )


def _good_target() -> PairedSuite:
    return _pair(Suite.validation, ["fail"] * 30, ["pass"] * 20 + ["fail"] * 10)


def _flat_regression(**kw: Any) -> PairedSuite:
    statuses = ["pass"] * 80 + ["fail"] * 20
    return _pair(Suite.regression, statuses, statuses, **kw)


def test_a_clear_fix_passes_with_its_numbers() -> None:
    report = evaluate_gate(
        candidate_id="x",
        cluster_id="C",
        validation=_good_target(),
        regression=_flat_regression(),
        blocking=None,
        config=CONFIG,
    )
    assert report.decision == "pass", report.reasons
    assert (report.target.fixed, report.target.broken) == (20, 0)
    assert report.target.baseline_pass == 0.0
    assert report.target.candidate_pass == 20 / 30
    assert report.regression.delta == 0.0
    assert report.guardrails.latency_p95_ratio == 1.0


def test_too_many_infrastructure_errors_are_inconclusive_never_pass() -> None:
    target = _pair(Suite.validation, ["fail"] * 30, ["pass"] * 20 + ["error"] * 10)
    report = evaluate_gate(
        candidate_id="x",
        cluster_id="C",
        validation=target,
        regression=_flat_regression(),
        blocking=None,
        config=CONFIG,
    )
    assert report.decision == "inconclusive"
    assert "10 of 30 candidate runs were infrastructure errors" in report.reasons[0]
    assert report.errors["validation"] == {"baseline": 0, "candidate": 10, "runs": 30}
    assert report.target.cases == 20  # errored cases are excluded from pass / fail


def test_a_broken_blocking_case_fails_and_an_unreplayable_one_is_inconclusive() -> None:
    blocking = _pair(Suite.blocking, ["pass", "pass", "fail"], ["fail", "pass", "fail"])
    report = evaluate_gate(
        candidate_id="x",
        cluster_id="C",
        validation=_good_target(),
        regression=_flat_regression(),
        blocking=blocking,
        config=CONFIG,
    )
    assert report.decision == "fail"
    assert report.blocking.broken == ["b0"]
    errored = _pair(Suite.blocking, ["pass"] * 40, ["pass"] * 39 + ["error"])
    unsure = evaluate_gate(
        candidate_id="x",
        cluster_id="C",
        validation=_good_target(),
        regression=_flat_regression(),
        blocking=errored,
        config=CONFIG.model_copy(update={"max_error_rate": 0.5}),
    )
    assert unsure.decision == "inconclusive"
    assert unsure.blocking.unverified == ["b39"]


def test_regression_and_guardrails_fail_with_every_reason() -> None:
    base = ["pass"] * 80 + ["fail"] * 20
    worse = ["fail"] * 15 + ["pass"] * 65 + ["fail"] * 20
    regression = _pair(Suite.regression, base, worse, latency=200.0, tools=2)
    report = evaluate_gate(
        candidate_id="x",
        cluster_id="C",
        validation=_good_target(),
        regression=regression,
        blocking=None,
        config=CONFIG,
    )
    assert report.decision == "fail"
    kinds = [reason.split(":")[0] for reason in report.reasons]
    assert kinds == ["regression", "guardrail latency_p95", "guardrail tool_calls"]
    assert report.regression.delta == -0.15
    assert report.regression.ci_high is not None
    assert report.regression.ci_high < 0
    assert report.guardrails.tool_calls_ratio == 2.0


def test_too_few_target_cases_are_inconclusive() -> None:
    target = _pair(Suite.validation, ["fail"] * 4, ["pass"] * 4)
    report = evaluate_gate(
        candidate_id="x",
        cluster_id="C",
        validation=target,
        regression=_flat_regression(),
        blocking=None,
        config=CONFIG,
    )
    assert report.decision == "inconclusive"
    assert report.target.mde is None  # four cases can never reach p <= 0.05


def test_the_report_has_the_documented_json_shape() -> None:
    data = evaluate_gate(
        candidate_id="x",
        cluster_id="C",
        validation=_good_target(),
        regression=_flat_regression(),
        blocking=None,
        config=CONFIG,
    ).model_dump(mode="json")
    assert {
        "candidate_id",
        "decision",
        "reasons",
        "target",
        "regression",
        "blocking",
        "guardrails",
    } <= set(data)
    assert {"baseline_pass", "candidate_pass", "fixed", "broken", "p_value"} <= set(data["target"])
    assert {"delta", "ci_low", "ci_high", "margin"} <= set(data["regression"])
    assert "broken" in data["blocking"]
    assert {"latency_p95_ratio", "cost_ratio", "tool_calls_ratio"} <= set(data["guardrails"])
    assert np.isfinite(data["target"]["p_value"])
