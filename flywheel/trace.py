"""The domain model of a production trace: `Trace`, `Step`, `Feedback`, `Score`, `FailureSignal`.

These pydantic models are the boundary every ingestion format converts into and every later
stage (signals, clustering, triage, replay, export) reads. Unknown fields are kept
(``extra="allow"``) so that nothing a producer sent is silently dropped.

Step types follow the OpenInference span kinds.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Version of the native trace record; bump with a migration when the shape changes.
TRACE_SCHEMA_VERSION = 1


class StepType(StrEnum):
    """OpenInference span kinds, lower-cased."""

    llm = "llm"
    tool = "tool"
    retriever = "retriever"
    reranker = "reranker"
    embedding = "embedding"
    chain = "chain"
    agent = "agent"
    router = "router"
    guardrail = "guardrail"
    evaluator = "evaluator"
    other = "other"

    @classmethod
    def coerce(cls, value: object) -> StepType:
        """Map a producer's kind string (any case, common synonyms) onto a step type."""
        if isinstance(value, StepType):
            return value
        if isinstance(value, str) and value in _STEP_BY_NAME:  # the fast path: already canonical
            return _STEP_BY_NAME[value]
        text = str(value or "").strip().lower()
        return _STEP_SYNONYMS.get(text) or _STEP_BY_NAME.get(text, cls.other)


_STEP_BY_NAME: dict[str, StepType] = {kind.value: kind for kind in StepType}
_STEP_SYNONYMS: dict[str, StepType] = {
    "generation": StepType.llm,
    "chat": StepType.llm,
    "prompt": StepType.llm,
    "retrieval": StepType.retriever,
    "retrieve": StepType.retriever,
    "function": StepType.tool,
    "tool_call": StepType.tool,
    "parser": StepType.chain,
    "span": StepType.chain,
    "event": StepType.other,
    "unknown": StepType.other,
}


class FeedbackKind(StrEnum):
    thumb = "thumb"
    rating = "rating"
    comment = "comment"
    correction = "correction"
    implicit = "implicit"


class FeedbackSource(StrEnum):
    user = "user"
    reviewer = "reviewer"
    system = "system"


class _Open(BaseModel):
    """Base for producer-facing records: unknown fields are kept, not dropped."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Step(_Open):
    """One span of a trace: a model call, a tool call, a retrieval, a routing decision..."""

    id: str = Field(min_length=1)
    parent_id: str | None = None
    type: StepType = StepType.other
    name: str = ""
    input: Any = None
    output: Any = None
    error: str | None = None
    start_time: datetime | None = None
    latency_ms: float | None = Field(default=None, ge=0)
    model: str | None = None
    usage: dict[str, int] | None = None
    cost_usd: float | None = Field(default=None, ge=0)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type", mode="before")
    @classmethod
    def _coerce_type(cls, value: object) -> StepType:
        return StepType.coerce(value)


class Feedback(_Open):
    """A judgement about a trace from a user, a reviewer or the system.

    ``value`` is +1/-1 for thumbs, the rating for ratings (``scale`` gives its maximum), and
    may be absent for pure comments.
    """

    kind: FeedbackKind
    value: float | None = None
    comment: str | None = None
    source: FeedbackSource = FeedbackSource.user
    scale: float | None = Field(default=None, gt=0)
    timestamp: datetime | None = None


class Score(_Open):
    """A named numeric score from an evaluator (a judge, a metric); higher is better."""

    name: str = Field(min_length=1)
    value: float
    source: str | None = None
    comment: str | None = None


class Trace(_Open):
    """One end-to-end run of an agent on one request.

    Only ``trace_id`` and ``input`` are required. ``scores`` accepts the compact native form
    ``{"name": value}`` as well as a list of `Score` records.
    """

    trace_id: str = Field(min_length=1)
    input: str | dict[str, Any] | list[Any]
    output: str | dict[str, Any] | list[Any] | None = None
    session_id: str | None = None
    user_id: str | None = None
    timestamp: datetime | None = None
    latency_ms: float | None = Field(default=None, ge=0)
    cost_usd: float | None = Field(default=None, ge=0)
    steps: list[Step] = Field(default_factory=list)
    feedback: list[Feedback] = Field(default_factory=list)
    scores: list[Score] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("scores", mode="before")
    @classmethod
    def _scores_from_mapping(cls, value: object) -> object:
        if isinstance(value, dict):
            return [{"name": name, "value": score} for name, score in value.items()]
        return value

    def to_json(self) -> bytes:
        """Canonical JSON (sorted keys, no nulls): the stored payload and the hash input."""
        return orjson.dumps(
            self.model_dump(mode="json", exclude_none=True, by_alias=True),
            option=orjson.OPT_SORT_KEYS,
        )

    def content_hash(self) -> str:
        """A stable hash of the content: equal hashes mean a re-sent trace is a duplicate."""
        return content_digest(self.to_json())

    @property
    def input_text(self) -> str:
        """The request as plain text (structured inputs are flattened to their text)."""
        return as_text(self.input)

    @property
    def output_text(self) -> str:
        return as_text(self.output)

    @property
    def route(self) -> str | None:
        """The routing decision, if a router step recorded one."""
        for step in self.steps:
            if step.type is StepType.router and isinstance(step.output, dict):
                route = step.output.get("route")
                if route is not None:
                    return str(route)
        value = self.metadata.get("route")
        return str(value) if value is not None else None

    @property
    def tool_calls(self) -> int:
        return sum(1 for step in self.steps if step.type is StepType.tool)

    @property
    def errors(self) -> list[Step]:
        return [step for step in self.steps if step.error]


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

    model_config = ConfigDict(extra="forbid")

    kind: SignalKind
    strength: float = Field(ge=0, le=1)
    evidence: str
    step_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)

    @property
    def positive(self) -> bool:
        return self.kind is SignalKind.positive_feedback


def content_digest(data: bytes) -> str:
    """The hash used for content identity (128-bit BLAKE2b, hex)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def as_text(value: object) -> str:
    """Flatten a structured input or output into readable text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("input", "question", "query", "content", "text", "output", "answer"):
            inner = value.get(key)
            if isinstance(inner, str):
                return inner
        messages = value.get("messages")
        if isinstance(messages, list):
            return as_text(messages)
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        contents = [as_text(item.get("content")) for item in value if item.get("content")]
        if contents:
            return "\n".join(contents)
    return json.dumps(value, ensure_ascii=False, default=str)
