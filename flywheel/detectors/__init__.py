"""Failure detectors: one registry of named functions, each with a declared contract.

A detector reads one trace (through a `TraceView`, which parses each trace convention once:
native fields, OpenTelemetry / OpenInference attributes, LangSmith runs, Langfuse
observations) and emits `Detection` records: a symptom name, a strength in [0, 1], the step it
points at, why, and the root cause it is evidence for with its weight, as its `Contract`
declares. Clustering uses the symptoms that describe *how* a trace failed as features; triage
weighs every detection's evidence for a root cause. Symptoms never decide *whether* a trace
failed (that is `flywheel.signals`).

- `detect` runs every registered detector on a trace; a detector that raises is recorded as a
  `DetectorFailure` and the others still run.
- `detector` registers a function (built-ins use it too); `DEFAULT_REGISTRY` holds them.
- `stored_detections` reads what `flywheel.signals.detect_failures` stored for failing
  traces, so that clustering and triage read the very same detections.
"""

from collections.abc import Sequence

from flywheel.detectors import _answer, _causes, _context, _steps  # noqa: F401  (register built-ins)
from flywheel.detectors._answer import asks_to_clarify, names_subject
from flywheel.detectors._answer import citations as cited_ids
from flywheel.detectors._conventions import earlier_turns, tool_schemas, truncation_notices
from flywheel.detectors._documents import Document, Retrieval, read_retrieval
from flywheel.detectors._registry import (
    DEFAULT_REGISTRY,
    Contract,
    Detection,
    DetectionRun,
    Detector,
    DetectorFailure,
    DetectorRegistry,
    Finding,
    Symptom,
    detector,
)
from flywheel.detectors._stored import DETECTORS_VERSION, fingerprint, stored_detections
from flywheel.detectors._view import TraceView
from flywheel.trace import FailureSignal, Trace


def detect(
    trace: Trace,
    signals: Sequence[FailureSignal] = (),
    *,
    registry: DetectorRegistry | None = None,
) -> DetectionRun:
    """Run every detector of ``registry`` (the default one) on ``trace``."""
    return (DEFAULT_REGISTRY if registry is None else registry).run(TraceView(trace, signals))


__all__ = [
    "DEFAULT_REGISTRY",
    "DETECTORS_VERSION",
    "Contract",
    "Detection",
    "DetectionRun",
    "Detector",
    "DetectorFailure",
    "DetectorRegistry",
    "Document",
    "Finding",
    "Retrieval",
    "Symptom",
    "TraceView",
    "asks_to_clarify",
    "cited_ids",
    "detect",
    "detector",
    "earlier_turns",
    "fingerprint",
    "names_subject",
    "read_retrieval",
    "stored_detections",
    "tool_schemas",
    "truncation_notices",
]
