"""Misrouted traces: a failing trace's route compared with the route its most similar healthy
neighbours took, and which requests a rule catches rightly and wrongly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flywheel.trace import Trace
from optimizers._evidence import (
    request_of,
    router_output,
    similarity_matrix,
)
from optimizers._task import OptimizationTask


@dataclass(frozen=True)
class Misrouted:
    trace: Trace
    taken: str
    expected: str
    via: str
    similarity: float | None
    exemplar: str | None


def _expected(
    requests: list[str], vias: list[str], healthy: list[tuple[Trace, str, str]], k: int
) -> list[str | None]:
    """For each request, the route its most similar healthy neighbours took.

    A request a rule caught is compared with neighbours that rule did not catch: what the
    router would have done without it. ``healthy``: (trace, route, via).
    """
    if not healthy or not requests:
        return [None] * len(requests)
    sims = similarity_matrix(requests, [request_of(t) for t, _, _ in healthy])
    result: list[str | None] = []
    for i, via in enumerate(vias):
        allowed = [
            j for j in range(len(healthy)) if not via.startswith("rule:") or healthy[j][2] != via
        ]
        order = sorted(allowed, key=lambda j: (-sims[i, j], j))[:k]
        votes: dict[str, float] = defaultdict(float)
        for j in order:
            if sims[i, j] > 0:
                votes[healthy[j][1]] += float(sims[i, j])
        result.append(max(sorted(votes), key=lambda r: votes[r]) if votes else None)
    return result


def _healthy(
    task: OptimizationTask, *, drop_lucky: bool = True, k: int = 5
) -> list[tuple[Trace, str, str]]:
    """Healthy neighbours with a route: (trace, route, via).

    With ``drop_lucky``, a neighbour a rule sent where requests like it do not go (by the
    neighbours that rule did not catch) is left out: it succeeded by luck, and its vote would
    defend the over-broad rule.
    """
    out = []
    for trace in task.neighbours:
        decision = router_output(trace) or {}
        if decision.get("route"):
            out.append((trace, str(decision["route"]), str(decision.get("via", ""))))
    if not drop_lucky:
        return out
    caught = [i for i, (_, _, via) in enumerate(out) if via.startswith("rule:")]
    expected = _expected(
        [request_of(out[i][0]) for i in caught], [out[i][2] for i in caught], out, k
    )
    lucky = {i for i, e in zip(caught, expected, strict=True) if e not in (None, out[i][1])}
    return [item for i, item in enumerate(out) if i not in lucky]


def expected_routes(task: OptimizationTask, k: int = 5) -> list[Misrouted]:
    """Failing traces whose route differs from the one their similar healthy neighbours took."""
    failing: list[tuple[Trace, dict[str, Any]]] = []
    for trace in task.failing:
        decision = router_output(trace)
        if decision and decision.get("route"):
            failing.append((trace, decision))
    expected = _expected(
        [request_of(t) for t, _ in failing],
        [str(out.get("via", "")) for _, out in failing],
        _healthy(task),
        k,
    )
    result: list[Misrouted] = []
    for (trace, out), route in zip(failing, expected, strict=True):
        if route is not None and route != str(out["route"]):
            sim = out.get("similarity")
            result.append(
                Misrouted(
                    trace,
                    str(out["route"]),
                    route,
                    str(out.get("via", "")),
                    float(sim) if isinstance(sim, int | float) else None,
                    str(out["exemplar"]) if out.get("exemplar") else None,
                )
            )
    return result


def rule_catches(task: OptimizationTask, rule_name: str, k: int = 5) -> tuple[list[str], list[str]]:
    """Healthy requests a rule caught: (rightly caught, lucky) by their own neighbours' routes.

    A healthy request the rule sent where requests like it do not go succeeded by luck; it
    is evidence against the rule, not for it.
    """
    healthy = _healthy(task, drop_lucky=False)
    via = f"rule:{rule_name}"
    caught = [(t, route) for t, route, v in healthy if v == via]
    expected = _expected([request_of(t) for t, _ in caught], [via] * len(caught), healthy, k)
    right = [request_of(t) for (t, r), e in zip(caught, expected, strict=True) if e in (None, r)]
    lucky = [
        request_of(t) for (t, r), e in zip(caught, expected, strict=True) if e not in (None, r)
    ]
    return right, lucky
