"""Failure signals: evidence, per trace, that it failed (or succeeded), and the verdict.

- `derive_signals` reads one trace (with its session and route statistics): explicit
  feedback, scores, step errors and task reward, implicit session behaviour (repeat,
  rephrase, abandonment) and per-route latency / cost / tool-call anomalies.
- `combine` turns signals into a failure score (noisy-OR, damped by positive feedback) and a
  verdict against ``SignalsConfig.failing_threshold``.
- *How* a trace failed (a citation the answer does not follow, a stale source, a rejected
  tool call...) is for the registry of detectors, `flywheel.detectors`.
- What a named score means (its direction and threshold) is `flywheel.scores`.
- `detect_failures` does both for every stored trace that needs it and saves the results.
"""

from flywheel.signals._anomaly import MetricStats, RouteStats
from flywheel.signals._complaints import BUILTIN_PATTERNS, ComplaintMatcher
from flywheel.signals._derive import combine, derive_signals
from flywheel.signals._detect import (
    DetectionReport,
    DetectProgress,
    detect_failures,
    route_statistics,
)

__all__ = [
    "BUILTIN_PATTERNS",
    "ComplaintMatcher",
    "DetectProgress",
    "DetectionReport",
    "MetricStats",
    "RouteStats",
    "combine",
    "derive_signals",
    "detect_failures",
    "route_statistics",
]
