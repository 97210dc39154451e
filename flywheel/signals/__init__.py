"""Failure signals: evidence, per trace, that it failed (or succeeded), and the verdict.

- `derive_signals` reads one trace (with its session and route statistics): explicit
  feedback, scores, step errors and task reward, implicit session behaviour (repeat,
  rephrase, abandonment) and per-route latency / cost / tool-call anomalies.
- `combine` turns signals into a failure score (noisy-OR, damped by positive feedback) and a
  verdict against ``SignalsConfig.failing_threshold``.
- `trace_symptoms` describes *how* a trace failed (evaluators disagreeing, a citation the
  answer does not follow, a stale source, an ignored format, a rejected tool call...): facts
  that tell failure patterns apart, never evidence of failure on their own.
- `score_rule` says what a named score means (its direction and threshold): configured
  ``[signals.scores]`` first, then built-in rules for well-known evaluators (hallucination,
  toxicity... are higher-worse), then ``default``; `ScoreDirections` warns when a score's
  values contradict its rule.
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
from flywheel.signals._scores import (
    ScoreDirections,
    builtin_rule,
    normalise_score_name,
    score_goodness,
    score_is_bad,
    score_rule,
)
from flywheel.signals._symptoms import Symptom, trace_symptoms

__all__ = [
    "BUILTIN_PATTERNS",
    "ComplaintMatcher",
    "DetectProgress",
    "DetectionReport",
    "MetricStats",
    "RouteStats",
    "ScoreDirections",
    "Symptom",
    "builtin_rule",
    "combine",
    "derive_signals",
    "detect_failures",
    "normalise_score_name",
    "route_statistics",
    "score_goodness",
    "score_is_bad",
    "score_rule",
    "trace_symptoms",
]
