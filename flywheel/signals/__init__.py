"""Failure signals: evidence, per trace, that it failed (or succeeded), and the verdict.

- `derive_signals` reads one trace (with its session and route statistics): explicit
  feedback, scores, step errors and task reward, implicit session behaviour (repeat,
  rephrase, abandonment) and per-route latency / cost / tool-call anomalies.
- `combine` turns signals into a failure score (noisy-OR, damped by positive feedback) and a
  verdict against ``SignalsConfig.failing_threshold``.
- *How* a trace failed (a citation the answer does not follow, a stale source, a rejected
  tool call...) is for the registry of detectors, `flywheel.detectors`.
- `score_rule` says what a named score means (its direction and threshold): configured
  ``[signals.scores]`` first, then built-in rules for well-known evaluators (hallucination,
  toxicity... are higher-worse), then ``default``; `ScoreDirections` warns when a score's
  values contradict its rule (both live in `flywheel.scores`).
- `detect_failures` does both for every stored trace that needs it and saves the results.
"""

from flywheel.scores import (
    ScoreDirections,
    builtin_rule,
    normalise_score_name,
    score_goodness,
    score_is_bad,
    score_rule,
)
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
    "ScoreDirections",
    "builtin_rule",
    "combine",
    "derive_signals",
    "detect_failures",
    "normalise_score_name",
    "route_statistics",
    "score_goodness",
    "score_is_bad",
    "score_rule",
]
