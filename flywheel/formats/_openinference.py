"""OpenInference span attributes read into a step: retrieved documents, flattened messages,
token usage, and the error a span's status or ``exception`` event records.

See `flywheel.formats.otlp` for the whole mapping.
"""

import re
from typing import Any

from flywheel.formats._fields import BadField
from flywheel.formats._judgements import (
    event_feedback,
    is_feedback_event,
)
from flywheel.formats._otlp_values import decode_value, read_attributes

_STATUS_ERROR = {2, "2", "STATUS_CODE_ERROR", "ERROR"}
_DOCUMENT_KEY = re.compile(
    r"^(retrieval\.documents|reranker\.output_documents)\.(\d+)\.document\.(\w+)$"
)
_MESSAGE_KEY = re.compile(r"^llm\.(input|output)_messages\.(\d+)\.message\.(\w+)$")


def read_documents(attrs: dict[str, Any]) -> list[dict[str, Any]] | None:
    found: dict[int, dict[str, Any]] = {}
    for key in list(attrs):
        match = _DOCUMENT_KEY.match(key)
        if match is None:
            continue
        value = attrs.pop(key)
        if match.group(3) == "metadata":
            value = decode_value(value, "application/json")
        found.setdefault(int(match.group(2)), {})[match.group(3)] = value
    return [found[i] for i in sorted(found)] if found else None


def read_messages(attrs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for key in list(attrs):
        match = _MESSAGE_KEY.match(key)
        if match is None:
            continue
        side = found.setdefault(match.group(1), {})
        side.setdefault(int(match.group(2)), {})[match.group(3)] = attrs.pop(key)
    return {side: [msgs[i] for i in sorted(msgs)] for side, msgs in found.items()}


def read_usage(attrs: dict[str, Any]) -> dict[str, int] | None:
    usage: dict[str, int] = {}
    for source, target in (
        ("llm.token_count.prompt", "prompt_tokens"),
        ("llm.token_count.completion", "completion_tokens"),
        ("llm.token_count.total", "total_tokens"),
        ("gen_ai.usage.input_tokens", "prompt_tokens"),
        ("gen_ai.usage.output_tokens", "completion_tokens"),
    ):
        value = attrs.get(source)
        if isinstance(value, int | float) and not isinstance(value, bool) and value == int(value):
            attrs.pop(source)
            usage.setdefault(target, int(value))
    return usage or None


def read_errors(
    status: Any, events: list[Any], annotations: list[dict[str, Any]]
) -> tuple[str | None, dict[str, Any], list[Any]]:
    """The step error (exception events first, then an ERROR status), extras, other events."""
    error: str | None = None
    extra: dict[str, Any] = {}
    others: list[Any] = []
    for event in events:
        if not isinstance(event, dict):
            others.append(event)
            continue
        try:
            attrs = read_attributes(event.get("attributes"), "event")
        except BadField:
            others.append(event)
            continue
        if event.get("name") == "exception" and error is None:
            kind = attrs.get("exception.type")
            message = attrs.get("exception.message")
            error = ": ".join(str(part) for part in (kind, message) if part) or "exception"
            if attrs.get("exception.stacktrace"):
                extra["exception.stacktrace"] = attrs["exception.stacktrace"]
        elif is_feedback_event(event.get("name"), attrs):
            annotations.append(event_feedback(str(event["name"]), attrs))
        elif event.get("name") == "gen_ai.evaluation.result":
            annotations.append(
                {
                    "name": attrs.get("gen_ai.evaluation.name"),
                    "score": attrs.get("gen_ai.evaluation.score.value"),
                    "label": attrs.get("gen_ai.evaluation.score.label"),
                    "explanation": attrs.get("gen_ai.evaluation.explanation"),
                }
            )
        else:
            others.append({**event, "attributes": attrs})
    code = status.get("code") if isinstance(status, dict) else None
    if isinstance(status, dict) and isinstance(code, str | int) and code in _STATUS_ERROR:
        message = status.get("message")
        if error is None:
            error = str(message) if message else "span status ERROR"
        elif message and str(message) not in error:
            extra["otel.status_message"] = message
    return error, extra, others
