"""Per-route anomalies of latency, cost and tool calls (robust z-scores)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from flywheel.config import SignalsConfig
from flywheel.signals import RouteStats, detect_failures
from flywheel.store import Store
from flywheel.trace import SignalKind, Trace
from tests.helpers.signals import Ingest, record


def routed(trace_id: str, route: str, latency: float, **fields: Any) -> dict[str, Any]:
    return record(
        trace_id, **{"latency_ms": latency, "metadata": {"route": route}, "steps": [], **fields}
    )


def test_a_ten_times_slower_trace_is_flagged_on_its_route_only(
    store: Store, ingest: Ingest
) -> None:
    rng = random.Random(7)
    normal = [routed(f"n{i}", "search", rng.uniform(900, 1500)) for i in range(50)]
    # A short route with the same outlier is not judged: too few traces.
    few = [routed(f"f{i}", "draft", rng.uniform(900, 1500)) for i in range(5)]
    pks = ingest(
        [*normal, routed("slow", "search", 12_000), *few, routed("fslow", "draft", 12_000)]
    )

    report = detect_failures(store, SignalsConfig())

    (signal,) = store.signals_of(pks["slow"])
    assert signal.kind is SignalKind.latency_anomaly
    assert signal.detail["route"] == "search"
    assert signal.detail["n"] == 51
    assert signal.strength == pytest.approx(0.6)
    assert "route 'search'" in signal.evidence
    assert report.by_kind == {"latency_anomaly": 1}
    assert store.signals_of(pks["fslow"]) == []


def test_cost_and_tool_call_outliers(store: Store, ingest: Ingest) -> None:
    tool = {"type": "tool", "name": "search_docs"}
    base = [
        routed(f"n{i}", "r", 1000, cost_usd=0.002 + 0.0001 * (i % 5), steps=[{"id": "t", **tool}])
        for i in range(30)
    ]
    many_tools = [{"id": f"t{i}", **tool} for i in range(9)]
    pks = ingest(
        [
            *base,
            routed("pricey", "r", 1000, cost_usd=0.05, steps=[{"id": "t", **tool}]),
            routed("busy", "r", 1000, cost_usd=0.002, steps=many_tools),
            routed("one-more", "r", 1000, cost_usd=0.002, steps=many_tools[:2]),
        ]
    )
    detect_failures(store, SignalsConfig())
    assert [s.kind for s in store.signals_of(pks["pricey"])] == [SignalKind.cost_anomaly]
    assert [s.kind for s in store.signals_of(pks["busy"])] == [SignalKind.tool_call_anomaly]
    # Every trace makes exactly one call: a second call is not an anomaly, only a clear excess.
    assert store.signals_of(pks["one-more"]) == []


def test_identical_values_judge_nothing() -> None:
    traces = [Trace(trace_id=f"t{i}", input="x", latency_ms=100) for i in range(30)]
    stats = RouteStats.from_traces(None, traces)
    assert stats.latency_ms.median == 100
    assert stats.latency_ms.z(10_000) is None
