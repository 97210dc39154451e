"""Failure signals: evidence, per trace, that it failed (or succeeded), and the verdict.

- `derive_signals` reads one trace (with its session and route statistics): explicit
  feedback, scores, step errors and task reward, implicit session behaviour (repeat,
  rephrase, abandonment) and per-route latency / cost / tool-call anomalies.
- `combine` turns signals into a failure score (noisy-OR, damped by positive feedback) and a
  verdict against ``SignalsConfig.failing_threshold``.
- `trace_symptoms` describes *how* a trace failed (evaluators disagreeing, a citation the
  answer does not follow, a stale source, an ignored format, a rejected tool call...): facts
  that tell failure patterns apart, never evidence of failure on their own.
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
from flywheel.signals._symptoms import Symptom, trace_symptoms

__all__ = [
    "BUILTIN_PATTERNS",
    "ComplaintMatcher",
    "DetectProgress",
    "DetectionReport",
    "MetricStats",
    "RouteStats",
    "Symptom",
    "combine",
    "derive_signals",
    "detect_failures",
    "route_statistics",
    "trace_symptoms",
]
