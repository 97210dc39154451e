"""The trace records themselves: `Trace` and its `Step`, `Feedback` and `Score` parts.

Producer-facing records keep unknown fields (``extra="allow"``); a producer's kind and source
strings are read through `flywheel.trace._vocabulary`, unusable numbers are taken out by
`flywheel.trace._measurements` before validation.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from flywheel.trace._measurements import drop_unusable_numbers
from flywheel.trace._vocabulary import (
    KIND_SYNONYMS,
    KINDS,
    RAW_SUFFIX,
    SOURCE_SYNONYMS,
    SOURCES,
    STEP_BY_NAME,
    FeedbackKind,
    FeedbackSource,
    StepType,
    canonical_term,
    step_type_is_known,
)

#: Version of the native trace record; bump with a migration when the shape changes.
TRACE_SCHEMA_VERSION = 1


#: Validation context of a payload that `Trace.to_json` just wrote (ingest reads each one
#: back before storing it): its measurements were cleaned when the trace was first
#: validated, so there is nothing left to drop (`drop_unusable_numbers` would return it as is).
READ_BACK: dict[str, bool] = {"read_back": True}

#: The longest id (trace, session, step) the store's indexed columns hold.
MAX_ID_CHARS = 512


class _Open(BaseModel):
    """Base for producer-facing records: unknown fields are kept, not dropped.

    Non-finite numbers (NaN, Infinity, also as the strings OTLP JSON writes) are refused
    everywhere: JSON cannot store them, so a trace holding one could be stored but never read
    back. `Trace` takes them out of a producer record first and notes them in ``dropped``.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, allow_inf_nan=False)


class Step(_Open):
    """One span of a trace: a model call, a tool call, a retrieval, a routing decision..."""

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
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

    @model_validator(mode="before")
    @classmethod
    def _read_type(cls, data: Any) -> Any:
        """A producer's kind is mapped onto a step type (any case, common synonyms); one no
        name or synonym maps is read as ``other``, kept in ``type_raw``. A canonical kind,
        nearly every one, is left to the enum (one Python call per step, not two)."""
        if not isinstance(data, dict) or "type" not in data:
            return data
        kind = data["type"]
        if isinstance(kind, str) and kind in STEP_BY_NAME:
            return data
        out = {**data, "type": StepType.coerce(kind)}
        if (
            isinstance(kind, str)
            and not step_type_is_known(kind)
            and "type" + RAW_SUFFIX not in data
        ):
            out["type" + RAW_SUFFIX] = kind
        return out


def _inferred_kind(data: dict[str, Any]) -> FeedbackKind:
    value = data.get("value")
    if isinstance(value, bool) or value in (-1, 1):
        return FeedbackKind.thumb
    if isinstance(value, int | float):
        return FeedbackKind.rating
    if data.get("correction") is not None:
        return FeedbackKind.correction
    return FeedbackKind.comment if data.get("comment") else FeedbackKind.implicit


class Feedback(_Open):
    """A judgement about a trace from a user, a reviewer or the system.

    ``value`` is +1/-1 for thumbs (1/0 and true/false are read as +1/-1), the rating for
    ratings (``scale`` gives its maximum), and may be absent for pure comments.
    """

    kind: FeedbackKind
    value: float | None = None
    comment: str | None = None
    source: FeedbackSource = FeedbackSource.user
    scale: float | None = Field(default=None, gt=0)
    timestamp: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _liberal(cls, data: Any) -> Any:
        """Unknown kinds and sources are mapped to a known meaning, the raw value kept.

        ``escalation`` becomes negative implicit feedback, ``slack_reaction`` a thumb, ``ide``
        a user...; a kind nothing maps is implicit feedback (a comment, if it has only a
        comment), a source nothing maps is the user. The producer's value stays in
        ``kind_raw`` / ``source_raw``. A missing kind is inferred from what is given.
        """
        if not isinstance(data, dict):
            return data
        data = _binary_thumb(data)
        kind, source = data.get("kind"), data.get("source")
        known_kind = isinstance(kind, FeedbackKind) or (isinstance(kind, str) and kind in KINDS)
        known_source = source is None or isinstance(source, FeedbackSource)
        known_source = known_source or (isinstance(source, str) and source in SOURCES)
        if known_kind and known_source:
            return data
        data = dict(data)
        if kind is None:
            data["kind"] = _inferred_kind(data)
        elif not known_kind:
            text = canonical_term(kind)
            mapped, implied = KIND_SYNONYMS.get(text) or (KINDS.get(text), None)
            if mapped is None:
                bare_comment = data.get("value") is None and data.get("comment")
                mapped = FeedbackKind.comment if bare_comment else FeedbackKind.implicit
            if mapped.value != kind:
                data.setdefault("kind" + RAW_SUFFIX, kind)
            data["kind"] = mapped
            if implied is not None and data.get("value") is None:
                data["value"] = implied
            elif mapped is FeedbackKind.thumb and isinstance(data.get("value"), bool):
                data["value"] = 1.0 if data["value"] else -1.0
        if not known_source:
            text = canonical_term(source)
            mapped_source = SOURCES.get(text) or SOURCE_SYNONYMS.get(text, FeedbackSource.user)
            if mapped_source.value != source:
                data.setdefault("source" + RAW_SUFFIX, source)
            data["source"] = mapped_source
        return data

    @property
    def unknown_values(self) -> list[str]:
        """``kind 'escalation'``-style notes for values this record's producer chose."""
        extra = self.model_extra or {}
        return [
            f"feedback {name} {extra[name + RAW_SUFFIX]!r} read as {getattr(self, name).value!r}"
            for name in ("kind", "source")
            if name + RAW_SUFFIX in extra
        ]


def _binary_thumb(data: dict[str, Any]) -> dict[str, Any]:
    """A thumb of 0 or ``false`` is a thumbs down: the 0/1 encoding of Langfuse's boolean
    scores and LangSmith's feedback scores, and of most widgets. It is stored as -1, the
    producer's value kept in ``value_raw``."""
    kind, value = data.get("kind"), data.get("value")
    if kind not in (FeedbackKind.thumb, FeedbackKind.thumb.value):
        return data
    if value is False or (type(value) in (int, float) and value == 0):
        data = dict(data)
        data.setdefault("value" + RAW_SUFFIX, value)
        data["value"] = -1.0
    elif value is True:
        data = {**data, "value": 1.0}
    return data


class Score(_Open):
    """A named numeric score from an evaluator (a judge, a metric); higher is better."""

    name: str = Field(min_length=1)
    value: float
    source: str | None = None
    comment: str | None = None


class Dropped(BaseModel):
    """A producer value Flywheel cannot use, taken out of the trace: where, what, why."""

    model_config = ConfigDict(extra="forbid")

    field: str
    value: str
    reason: str


class Trace(_Open):
    """One end-to-end run of an agent on one request.

    Only ``trace_id`` and ``input`` are required. ``scores`` accepts the compact native form
    ``{"name": value}`` as well as a list of `Score` records.

    A measurement that cannot be used (a score, feedback value, latency, cost or token count
    that is not a finite number, or a negative latency, cost or count) is taken out and noted
    in ``dropped``, so the rest of the trace is kept: a judge that wrote NaN for one score
    should not cost the trace. Everything else invalid rejects the whole record.
    """

    trace_id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    input: str | dict[str, Any] | list[Any]
    output: str | dict[str, Any] | list[Any] | None = None
    session_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)
    user_id: str | None = None
    timestamp: datetime | None = None
    latency_ms: float | None = Field(default=None, ge=0)
    cost_usd: float | None = Field(default=None, ge=0)
    steps: list[Step] = Field(default_factory=list)
    feedback: list[Feedback] = Field(default_factory=list)
    scores: list[Score] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    #: Values taken out of the producer's record because they cannot be used (absent: none).
    dropped: list[Dropped] | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_unusable_numbers(cls, data: object, info: ValidationInfo) -> object:
        if isinstance(data, dict) and info.context is not READ_BACK:
            return drop_unusable_numbers(data)
        return data

    @field_validator("trace_id", "session_id")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain a NUL character")
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


def content_digest(data: bytes) -> str:
    """The hash used for content identity (128-bit BLAKE2b, hex)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


#: Where a structured input or output keeps its text, most specific first: the conventions of
#: agent frameworks and of teams' own APIs (``{"message": ..., "customer_id": ...}``).
_TEXT_KEYS = (
    "input",
    "question",
    "query",
    "message",
    "prompt",
    "request",
    "user_message",
    "utterance",
    "content",
    "text",
    "output",
    "answer",
    "response",
)


def as_text(value: object) -> str:
    """Flatten a structured input or output into readable text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in _TEXT_KEYS:
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
