"""Latency, cost and tool-call anomalies: robust z-scores per route.

For each route (traces without a route form their own group) and each metric, the centre is
the median and the spread the median absolute deviation (MAD): ``z = 0.6745 (x - median) / MAD``,
the modified z-score of Iglewicz and Hoaglin (1993), who suggest flagging ``|z| > 3.5``. When
more than half the values are equal the MAD is zero; the spread then falls back to the mean
absolute deviation times 1.2533 (its ratio to the standard deviation for normal data), and
when that is zero too nothing on the route is judged an anomaly.

Two refinements keep the signal practical. Only the high side counts: a fast, cheap trace
is not a failure. And the spread has a floor (10 % of the median for latency and cost, half a
call for tool calls) so that a route whose traces nearly all take exactly two tool calls does
not call a third one an anomaly: a flagged trace must differ in a way a person would notice.

A route is judged only once it has ``anomaly_min_traces`` values of the metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flywheel.config import SignalsConfig
from flywheel.trace import FailureSignal, SignalKind, Trace

#: z = 0.6745 (x - median) / MAD, i.e. the MAD scaled to a normal standard deviation.
MAD_TO_SIGMA = 1 / 0.6745
#: Mean absolute deviation to a normal standard deviation (sqrt(pi / 2)).
MEAN_AD_TO_SIGMA = 1.2533
MIN_STRENGTH, MAX_STRENGTH = 0.3, 0.6

_METRICS: dict[str, tuple[SignalKind, str, float, float]] = {
    # metric: (signal kind, label, relative floor of the spread, absolute floor)
    "latency_ms": (SignalKind.latency_anomaly, "latency (ms)", 0.1, 0.0),
    "cost_usd": (SignalKind.cost_anomaly, "cost (USD)", 0.1, 0.0),
    "tool_calls": (SignalKind.tool_call_anomaly, "tool calls", 0.0, 0.5),
}


@dataclass(frozen=True)
class MetricStats:
    """Centre and robust spread of one metric on one route (``scale`` 0: not judged)."""

    median: float
    scale: float
    n: int

    @classmethod
    def of(cls, values: NDArray[np.float64], *, rel_floor: float, abs_floor: float) -> MetricStats:
        values = values[~np.isnan(values)]
        if values.size == 0:
            return cls(median=0.0, scale=0.0, n=0)
        median = float(np.median(values))
        deviations = np.abs(values - median)
        scale = float(np.median(deviations)) * MAD_TO_SIGMA
        if scale == 0:
            scale = float(np.mean(deviations)) * MEAN_AD_TO_SIGMA
        if scale > 0:
            scale = max(scale, rel_floor * abs(median), abs_floor)
        return cls(median=median, scale=scale, n=int(values.size))

    def z(self, value: float) -> float | None:
        """The robust z-score of ``value``, or None when the spread is zero."""
        if self.scale <= 0:
            return None
        return (value - self.median) / self.scale


@dataclass(frozen=True)
class RouteStats:
    """Per-metric statistics of one route, computed over every stored trace on it."""

    route: str | None
    latency_ms: MetricStats
    cost_usd: MetricStats
    tool_calls: MetricStats

    @classmethod
    def from_values(
        cls,
        route: str | None,
        *,
        latency_ms: Sequence[float | None] | NDArray[np.float64],
        cost_usd: Sequence[float | None] | NDArray[np.float64],
        tool_calls: Sequence[float | None] | NDArray[np.float64],
    ) -> RouteStats:
        """Statistics from the route's raw values (None or NaN where a trace lacks one)."""
        columns = {
            "latency_ms": latency_ms,
            "cost_usd": cost_usd,
            "tool_calls": tool_calls,
        }
        stats = {}
        for name, values in columns.items():
            _, _, rel_floor, abs_floor = _METRICS[name]
            array = np.array(
                [np.nan if v is None else v for v in values]
                if not isinstance(values, np.ndarray)
                else values,
                dtype=np.float64,
            )
            stats[name] = MetricStats.of(array, rel_floor=rel_floor, abs_floor=abs_floor)
        return cls(route=route, **stats)

    @classmethod
    def from_traces(cls, route: str | None, traces: Sequence[Trace]) -> RouteStats:
        """Statistics of ``traces`` (all on ``route``), for callers without a store."""
        return cls.from_values(
            route,
            latency_ms=[t.latency_ms for t in traces],
            cost_usd=[t.cost_usd for t in traces],
            tool_calls=[float(t.tool_calls) for t in traces],
        )


def anomaly_signals(
    trace: Trace, stats: RouteStats | None, config: SignalsConfig
) -> list[FailureSignal]:
    """Latency, cost and tool-call anomalies of ``trace`` against its route's statistics."""
    if stats is None:
        return []
    values: dict[str, float | None] = {
        "latency_ms": trace.latency_ms,
        "cost_usd": trace.cost_usd,
        "tool_calls": float(trace.tool_calls),
    }
    route = stats.route if stats.route is not None else "(no route)"
    signals: list[FailureSignal] = []
    for name, (kind, label, _, _) in _METRICS.items():
        value = values[name]
        metric: MetricStats = getattr(stats, name)
        if value is None or metric.n < config.anomaly_min_traces:
            continue
        z = metric.z(value)
        if z is None or z <= config.anomaly_z:
            continue
        # 0.3 at the threshold, rising linearly to 0.6 at twice the threshold.
        excess = min(1.0, (z - config.anomaly_z) / config.anomaly_z)
        strength = round(MIN_STRENGTH + (MAX_STRENGTH - MIN_STRENGTH) * excess, 4)
        signals.append(
            FailureSignal(
                kind=kind,
                strength=strength,
                evidence=f"{label} {value:g} vs median {metric.median:g} on route '{route}' "
                f"(robust z {z:.1f} over {metric.n} traces)",
                detail={
                    "metric": name,
                    "value": value,
                    "median": metric.median,
                    "z": round(z, 3),
                    "route": stats.route,
                    "n": metric.n,
                },
            )
        )
    return signals
