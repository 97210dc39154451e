"""The domain model of a production trace: `Trace`, `Step`, `Feedback`, `Score`, `FailureSignal`.

These pydantic models are the boundary every ingestion format converts into and every later
stage (signals, clustering, triage, replay, export) reads. Unknown fields are kept
(``extra="allow"``) so that nothing a producer sent is silently dropped.

Step types follow the OpenInference span kinds.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    # OpenAI Agents SDK span types, agent frameworks' and evaluation tools' step names.
    "response": StepType.llm,
    "completion": StepType.llm,
    "chat_model": StepType.llm,
    "llm_call": StepType.llm,
    "model": StepType.llm,
    "handoff": StepType.router,
    "routing": StepType.router,
    "custom": StepType.other,
    "function_call": StepType.tool,
    "tool_use": StepType.tool,
    "action": StepType.tool,
    "mcp_tools": StepType.tool,
    "mcp_list_tools": StepType.tool,
    "embed": StepType.embedding,
    "rerank": StepType.reranker,
    "workflow": StepType.chain,
    "task": StepType.chain,
    "pipeline": StepType.chain,
    "eval": StepType.evaluator,
    "evaluation": StepType.evaluator,
    "guardrails": StepType.guardrail,
}

#: The field an unknown enum value is kept in, next to the known meaning it was mapped to.
RAW_SUFFIX = "_raw"


def _known(value: object, names: dict[str, Any]) -> bool:
    return isinstance(value, str) and (value in names or value.strip().lower() in names)


def step_type_is_known(value: object) -> bool:
    """Whether a producer's step kind maps onto a step type by name or a known synonym."""
    return (
        value is None
        or isinstance(value, StepType)
        or _known(value, _STEP_BY_NAME)
        or _known(value, _STEP_SYNONYMS)
    )


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


#: Producers' feedback kinds with a clear meaning, and the value a bare one implies.
_KIND_SYNONYMS: dict[str, tuple[FeedbackKind, float | None]] = {
    **dict.fromkeys(
        (
            "thumbs",
            "vote",
            "reaction",
            "emoji",
            "binary",
            "boolean",
            "helpful",
            "slack_reaction",
            "user_score",
            "user_feedback",
        ),
        (FeedbackKind.thumb, None),
    ),
    **dict.fromkeys(
        ("thumbs_up", "thumb_up", "upvote", "like", "liked", "positive"), (FeedbackKind.thumb, 1.0)
    ),
    **dict.fromkeys(
        (
            "thumbs_down",
            "thumb_down",
            "downvote",
            "dislike",
            "disliked",
            "negative",
            "flag",
            "flagged",
            "report",
        ),
        (FeedbackKind.thumb, -1.0),
    ),
    **dict.fromkeys(
        ("stars", "star", "score", "numeric", "scale", "nps", "csat", "likert", "grade"),
        (FeedbackKind.rating, None),
    ),
    **dict.fromkeys(
        ("text", "note", "free_text", "freetext", "remark", "review", "message", "annotation"),
        (FeedbackKind.comment, None),
    ),
    **dict.fromkeys(
        ("edit", "fix", "rewrite", "corrected", "expected_output", "ground_truth", "reference"),
        (FeedbackKind.correction, None),
    ),
    **dict.fromkeys(
        (
            "escalation",
            "escalated",
            "escalate",
            "reopened",
            "reopen",
            "handoff",
            "handover",
            "human_handoff",
            "abandon",
            "abandoned",
            "complaint",
            "refund",
            "regenerate",
            "regenerated",
            "retry",
            "retried",
        ),
        (FeedbackKind.implicit, -1.0),
    ),
    **dict.fromkeys(
        (
            "copy",
            "copied",
            "accepted",
            "accept",
            "resolved",
            "purchase",
            "converted",
            "shared",
            "kept",
        ),
        (FeedbackKind.implicit, 1.0),
    ),
    **dict.fromkeys(
        ("behavioral", "behavioural", "signal", "click", "event", "session"),
        (FeedbackKind.implicit, None),
    ),
}
_KINDS: dict[str, FeedbackKind] = {kind.value: kind for kind in FeedbackKind}
_SOURCE_SYNONYMS: dict[str, FeedbackSource] = {
    **dict.fromkeys(
        (
            "human",
            "end_user",
            "enduser",
            "customer",
            "client",
            "app",
            "ui",
            "web",
            "api",
            "ide",
            "slack",
            "slack_reaction",
            "chat",
            "widget",
            "mobile",
            "email",
            "user_feedback",
            "feedback",
            "users",
            "product",
        ),
        FeedbackSource.user,
    ),
    **dict.fromkeys(
        (
            "annotator",
            "annotation",
            "labeler",
            "labeller",
            "expert",
            "human_review",
            "human_annotation",
            "review",
            "qa",
            "admin",
            "operator",
            "support",
            "support_agent",
            "developer",
            "sme",
            "grader",
        ),
        FeedbackSource.reviewer,
    ),
    **dict.fromkeys(
        (
            "llm",
            "judge",
            "llm_judge",
            "llm_as_judge",
            "evaluator",
            "eval",
            "auto",
            "automatic",
            "automated",
            "model",
            "monitor",
            "heuristic",
            "rule",
            "metric",
            "code",
            "pipeline",
            "online_eval",
            "app_signal",
            "telemetry",
        ),
        FeedbackSource.system,
    ),
}
_SOURCES: dict[str, FeedbackSource] = {source.value: source for source in FeedbackSource}


def _canonical(value: object) -> str:
    return str(value).strip().lower().replace("-", "_").replace(" ", "_")


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
        if isinstance(kind, str) and kind in _STEP_BY_NAME:
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
        known_kind = isinstance(kind, FeedbackKind) or (isinstance(kind, str) and kind in _KINDS)
        known_source = source is None or isinstance(source, FeedbackSource)
        known_source = known_source or (isinstance(source, str) and source in _SOURCES)
        if known_kind and known_source:
            return data
        data = dict(data)
        if kind is None:
            data["kind"] = _inferred_kind(data)
        elif not known_kind:
            text = _canonical(kind)
            mapped, implied = _KIND_SYNONYMS.get(text) or (_KINDS.get(text), None)
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
            text = _canonical(source)
            mapped_source = _SOURCES.get(text) or _SOURCE_SYNONYMS.get(text, FeedbackSource.user)
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
    def _drop_unusable_numbers(cls, data: object) -> object:
        if isinstance(data, dict):
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


def drop_unusable_numbers(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a raw trace record with unusable measurements taken out and noted in ``dropped``.

    Only the measurement fields are touched; anything else is left for validation to judge.
    A record whose measurements are all plain finite numbers (nearly every one) is returned
    without copying, its ``{"name": value}`` scores as a list: this runs on every validation,
    on ingest twice and on every read of a stored trace.
    """
    if _all_usable(data):
        scores = data.get("scores")
        if isinstance(scores, dict):
            return {**data, "scores": [{"name": n, "value": v} for n, v in scores.items()]}
        return data
    return _drop_carefully(data)


def _drop_carefully(data: dict[str, Any]) -> dict[str, Any]:
    """`drop_unusable_numbers` for a record that may hold an unusable measurement."""
    notes: list[dict[str, str]] = []
    out = dict(data)
    _clear_measures(out, "", ("latency_ms", "cost_usd"), notes)
    scores = out.get("scores")
    if isinstance(scores, dict):
        scores = [{"name": name, "value": value} for name, value in scores.items()]
    if isinstance(scores, list):
        kept: list[Any] = []
        for i, score in enumerate(scores):
            if isinstance(score, dict) and "value" in score:
                reason = _unusable(score["value"], signed=True)
                if reason is not None:
                    notes.append(_note(f"scores.{i}.value", score["value"], reason, score))
                    continue
            kept.append(score)
        out["scores"] = kept
    for key, fields in (("feedback", ("value", "scale")), ("steps", ("latency_ms", "cost_usd"))):
        items = out.get(key)
        if isinstance(items, list):
            out[key] = [
                _cleaned(item, f"{key}.{i}.", fields, notes) if isinstance(item, dict) else item
                for i, item in enumerate(items)
            ]
    if notes:
        earlier = out.get("dropped")
        out["dropped"] = (earlier if isinstance(earlier, list) else []) + notes
    return out


#: Ints beyond this many bits overflow a float ("too large for a 64-bit float").
_FLOAT_BITS = 1023


def _plain(value: object, *, signed: bool) -> bool:
    """Whether ``value`` is a finite int or float (a bool, if ``signed``) that `_unusable`
    would accept: the check that lets `drop_unusable_numbers` skip its copy. Anything else,
    numeric text and subclasses included, goes the careful way."""
    kind = type(value)
    if kind is float:
        number = cast(float, value)
        return math.isfinite(number) and (signed or number >= 0)
    if kind is int:
        whole = cast(int, value)
        return (signed or whole >= 0) and whole.bit_length() <= _FLOAT_BITS
    return signed and kind is bool


def _all_usable(data: dict[str, Any]) -> bool:
    """Whether `drop_unusable_numbers` would drop nothing from ``data`` (sure answers only:
    False sends a record down the careful path, which decides)."""
    for name in ("latency_ms", "cost_usd"):
        value = data.get(name)
        if value is not None and not _plain(value, signed=False):
            return False
    scores = data.get("scores")
    if isinstance(scores, dict):
        if not all(_plain(value, signed=True) for value in scores.values()):
            return False
    elif isinstance(scores, list):
        for score in scores:
            if (
                isinstance(score, dict)
                and "value" in score
                and not _plain(score["value"], signed=True)
            ):
                return False
    for key, fields in (("feedback", _FEEDBACK_MEASURES), ("steps", _STEP_MEASURES)):
        items = data.get(key)
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict) and not _item_usable(item, fields):
                return False
    return True


_FEEDBACK_MEASURES = (("value", True), ("scale", False))
_STEP_MEASURES = (("latency_ms", False), ("cost_usd", False))


def _item_usable(item: dict[str, Any], fields: tuple[tuple[str, bool], ...]) -> bool:
    for name, signed in fields:
        value = item.get(name)
        if value is None:
            continue
        if not _plain(value, signed=signed) or (name == "scale" and value == 0):
            return False
    usage = item.get("usage")
    if isinstance(usage, dict):
        for count in usage.values():
            if type(count) is not int or count < 0 or count.bit_length() > _FLOAT_BITS:
                return False
    return True


def _cleaned(
    item: dict[str, Any], where: str, fields: tuple[str, ...], notes: list[dict[str, str]]
) -> dict[str, Any]:
    item = dict(item)
    _clear_measures(item, where, fields, notes, signed=where.startswith("feedback"))
    usage = item.get("usage")
    if isinstance(usage, dict):
        counts: dict[str, Any] = {}
        for name, count in usage.items():
            reason = _unusable(count, signed=False)
            if reason is None and not float(count).is_integer():
                reason = "not a whole number"
            if reason is None:
                counts[name] = count
            else:
                notes.append(_note(f"{where}usage.{name}", count, reason))
        item["usage"] = counts
    return item


def _clear_measures(
    item: dict[str, Any],
    where: str,
    fields: tuple[str, ...],
    notes: list[dict[str, str]],
    *,
    signed: bool = False,
) -> None:
    for name in fields:
        value = item.get(name)
        if value is None:
            continue
        # Only a feedback value may be negative (a thumbs-down is -1); a scale must be > 0.
        reason = _unusable(value, signed=signed and name == "value")
        if reason is None and name == "scale" and float(value) == 0:
            reason = "a scale must be positive"
        if reason is not None:
            notes.append(_note(where + name, value, reason))
            item[name] = None


def _unusable(value: object, *, signed: bool) -> str | None:
    """Why ``value`` is no usable measurement (None if it is a finite number, or text of one)."""
    if isinstance(value, bool):
        return None if signed else "not a number"
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return "not a number"
    elif isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return "too large for a 64-bit float"
    else:
        return "not a number"
    if not math.isfinite(number):
        return "not a finite number (NaN or infinity)"
    if not signed and number < 0:
        return "must not be negative"
    return None


def _note(field: str, value: object, reason: str, record: object = None) -> dict[str, str]:
    shown = value if isinstance(value, str) else json.dumps(value, default=str)
    if isinstance(record, dict) and isinstance(record.get("name"), str):
        field = f"{field} ({record['name'][:100]})"
    return {"field": field, "value": shown[:200], "reason": reason}


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
