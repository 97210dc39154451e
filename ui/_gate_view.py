"""The approval page's view of a candidate's replay gate: the verdict with its numbers at a
glance, and the table of every check (target slice, regression set, blocking set,
guardrails) with its statistic and threshold.
"""

from __future__ import annotations

import streamlit as st

from ui._format import (
    count,
)
from ui._render import escape
from ui.approvals import Candidate, GateSummary


def _pp(value: float) -> str:
    return f"{value * 100:+.1f} pp"


def _interval(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"[{_pp(low)}, {_pp(high)}]"


def _ratio_interval(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"[x{low:.2f}, x{high:.2f}]"


def _blocking(gate: GateSummary) -> str:
    if gate.blocking_cases == 0:
        return "no blocking cases: nothing was checked"
    return f"{gate.blocking_failures} newly failing of {count(gate.blocking_cases, 'case')}"


def _verdict(candidate: Candidate) -> None:
    """The gate's verdict and its numbers, each with its interval, at a glance."""
    gate = candidate.gate
    reasons = [str(r) for r in (getattr(gate, "reasons", None) or [])]
    if gate.passed:
        st.success("Replay gate: passed" + (f" ({'; '.join(reasons)})" if reasons else ""))
    else:
        st.error(escape("Replay gate: failed. " + ("; ".join(reasons) or "see the numbers")))
    a, b, c, d = st.columns(4)
    a.metric("Target cases fixed", f"{gate.target_fixed} of {gate.target_cases}")
    a.caption(
        f"{count(gate.target_broken, 'case')} broken · "
        + (
            f"p = {gate.target_p_value:.3g} (one-sided McNemar)"
            if gate.target_p_value is not None
            else "no p-value"
        )
        + (f" vs α {gate.target_alpha}" if gate.target_alpha is not None else "")
    )
    ci = gate.regression_ci
    b.metric(
        "Regression case set, pass rate",
        _pp(gate.regression_delta) if gate.regression_delta is not None else "—",
    )
    b.caption(
        "95% CI "
        + _interval(ci.low if ci else None, ci.high if ci else None)
        + (
            f" · must stay above {_pp(-gate.regression_margin)}"
            if gate.regression_margin is not None
            else ""
        )
    )
    c.metric(
        "Blocking set",
        "no cases" if gate.blocking_cases == 0 else f"{gate.blocking_failures} newly failing",
    )
    c.caption(
        "No blocking cases were replayed, so this check proved nothing."
        if gate.blocking_cases == 0
        else f"of {count(gate.blocking_cases, 'case')}; any newly failing case blocks the fix"
    )
    over = [name for name, guard in gate.guardrails.items() if not guard.ok]
    d.metric(
        "Guardrails",
        "none measured"
        if not gate.guardrails
        else ("within budget" if not over else f"over: {', '.join(over)}"),
    )
    d.caption(
        " · ".join(
            f"{name.replace('_', ' ')} x{guard.ratio:.2f} (budget x{guard.budget})"
            for name, guard in gate.guardrails.items()
        )
        or "latency, cost and tool calls were not compared"
    )
    if gate.blocking_cases == 0:
        st.warning(
            "The blocking set had no cases: nothing guarded against breaking a known-good "
            "behaviour. Add cases to the regression eval set (Datasets page) before trusting "
            "this gate."
        )


def _gate_table(candidate: Candidate) -> None:
    gate = candidate.gate
    ci = gate.regression_ci
    rows = [
        {
            "Check": "target slice (McNemar, one-sided)",
            "Result": f"fixed {gate.target_fixed}, broke {gate.target_broken} "
            f"of {count(gate.target_cases, 'case')}",
            "Statistic": f"p = {gate.target_p_value:.4g}"
            if gate.target_p_value is not None
            else "—",
            "Threshold": f"α {gate.target_alpha}" if gate.target_alpha is not None else "—",
        },
        {
            "Check": "regression case set, replayed (non-inferiority)",
            "Result": f"pass rate {_pp(gate.regression_delta)}"
            if gate.regression_delta is not None
            else "—",
            "Statistic": "95% CI " + _interval(ci.low if ci else None, ci.high if ci else None),
            "Threshold": f"margin {_pp(-gate.regression_margin)}"
            if gate.regression_margin is not None
            else "—",
        },
        {
            "Check": "blocking set",
            "Result": _blocking(gate),
            "Statistic": "—",
            "Threshold": "0 newly failing",
        },
    ]
    for name, guard in gate.guardrails.items():
        iv = guard.interval
        rows.append(
            {
                "Check": f"guardrail: {name.replace('_', ' ')}",
                "Result": f"x{guard.ratio:.2f} of baseline "
                f"({'within budget' if guard.ok else 'over budget'})",
                "Statistic": "95% CI "
                + _ratio_interval(iv.low if iv else None, iv.high if iv else None),
                "Threshold": f"budget x{guard.budget}",
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")
