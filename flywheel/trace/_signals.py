"""Failure signals: the evidence, read off a trace, that it failed (or succeeded)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SignalKind(StrEnum):
    """Kinds of evidence that a trace failed (or, for ``positive_feedback``, succeeded)."""

    negative_feedback = "negative_feedback"
    low_rating = "low_rating"
    complaint = "complaint"
    correction = "correction"
    reviewer_label = "reviewer_label"
    low_score = "low_score"
    step_error = "step_error"
    timeout = "timeout"
    task_failure = "task_failure"
    rephrase = "rephrase"
    repeat = "repeat"
    abandonment = "abandonment"
    latency_anomaly = "latency_anomaly"
    cost_anomaly = "cost_anomaly"
    tool_call_anomaly = "tool_call_anomaly"
    positive_feedback = "positive_feedback"


class FailureSignal(BaseModel):
    """One piece of evidence about a trace's outcome.

    ``strength`` is in [0, 1]: how strongly this signal alone says the trace failed (for
    ``positive_feedback``, how strongly it says the trace succeeded). ``step_id`` points at
    the step that carries the evidence, when there is one.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: SignalKind
    strength: float = Field(ge=0, le=1)
    evidence: str
    step_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)

    @property
    def positive(self) -> bool:
        return self.kind is SignalKind.positive_feedback
