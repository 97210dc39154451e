"""Per-trace signals and their combination into one failure score (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from flywheel.config import SignalsConfig
from flywheel.signals._anomaly import RouteStats, anomaly_signals
from flywheel.signals._explicit import explicit_signals
from flywheel.signals._implicit import implicit_signals
from flywheel.trace import FailureSignal, Trace

#: How far the strongest positive feedback can pull the combined score down (at most half).
POSITIVE_DAMPING = 0.5


def derive_signals(
    trace: Trace,
    *,
    config: SignalsConfig,
    session: Sequence[Trace] = (),
    route_stats: RouteStats | None = None,
    now: datetime | None = None,
) -> list[FailureSignal]:
    """Every failure (and success) signal of one trace, strongest evidence first.

    ``session`` holds the other traces of the trace's session (the trace itself may be among
    them); without it there are no repeat or rephrase signals. ``route_stats`` are the
    statistics of the trace's route; without them there are no anomalies. ``now`` is the
    present in data time: abandonment is judged only when it is given, and then ``session``
    must hold every later trace of the session.
    """
    signals = explicit_signals(trace, config)
    signals.extend(implicit_signals(trace, session, config, now))
    signals.extend(anomaly_signals(trace, route_stats, config))
    # Stable sort: ties keep the order explicit, implicit, anomalies.
    return sorted(signals, key=lambda signal: -signal.strength)


def combine(signals: Iterable[FailureSignal], config: SignalsConfig) -> tuple[float, bool]:
    """The combined failure score in [0, 1] and whether it reaches the failing threshold.

    Negative signals combine as a noisy-OR, ``1 - prod(1 - s_i)``: independent pieces of
    evidence each get a chance to explain a failure, so two weak signals add up but never
    past 1. Positive feedback then scales the result by ``1 - 0.5 * max positive strength``:
    a user's thumbs up halves at most the score, it never erases a hard error. A trace
    without negative evidence is never failing, whatever the threshold.
    """
    keep_ok = 1.0
    best_positive = 0.0
    for signal in signals:
        if signal.positive:
            best_positive = max(best_positive, signal.strength)
        else:
            keep_ok *= 1.0 - signal.strength
    score = (1.0 - keep_ok) * (1.0 - POSITIVE_DAMPING * best_positive)
    score = round(min(1.0, max(0.0, score)), 6)
    failing = score > 0 and score >= config.failing_threshold - 1e-9
    return score, failing
