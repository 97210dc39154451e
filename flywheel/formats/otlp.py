"""OpenTelemetry spans with OpenInference attributes, as OTLP JSON.

A file is either one OTLP JSON document ``{"resourceSpans": [...]}`` (or an array of them)
or JSONL with one such document per line, as the collector's file exporter writes it.
Spans are grouped by ``traceId`` across the whole file and each trace is yielded once the
file has been read, so memory grows with the file.

Mapping (OpenInference semantic conventions, https://github.com/Arize-ai/openinference/):

- ``openinference.span.kind`` gives `Step.type`; ``input.value`` / ``output.value`` the step
  input and output (decoded when ``*.mime_type`` is ``application/json``); a RETRIEVER's
  ``retrieval.documents.N.document.*`` (a RERANKER's ``reranker.output_documents``) becomes
  its output, a list of ``{"id", "score", "content", "metadata"}``;
  ``llm.token_count.{prompt,completion,total}`` the usage (``prompt_tokens``...),
  ``llm.model_name`` the model, ``llm.cost.total`` the cost, ``tool.name`` a tool step's name.
- A span with status ERROR or an ``exception`` event has ``Step.error``.
- The root span (no parent) gives the trace's input, output (its last AI message when the
  output is a whole ``messages`` state or completion: `flywheel.formats._fields.answer`),
  timestamp and latency. A trace
  whose root never arrived is still yielded from the spans present, with
  ``metadata["incomplete"] = True`` and ``metadata["missing_parent_ids"]``.
- The GenAI conventions (``gen_ai.*``) are read too: ``gen_ai.operation.name`` gives the kind,
  ``gen_ai.tool.name`` / ``gen_ai.tool.call.arguments`` / ``gen_ai.tool.call.result`` a tool
  step, ``gen_ai.input.messages`` / ``gen_ai.output.messages`` the messages,
  ``gen_ai.conversation.id`` the session.
- Feedback follows the OpenInference annotation convention (``annotations.N.annotation.*``,
  ``evaluations.N.evaluation.*``, and ``gen_ai.evaluation.result`` events): a ``HUMAN``
  annotation becomes `Feedback` (a thumb when its name or label says thumbs, a rating when it
  has a score, otherwise a comment), any other annotation with a score becomes a `Score`.
  Annotations on non-root spans carry the span id as ``step_id``.
- Evaluation results written as plain span attributes are scores too: ``eval.<name>`` /
  ``eval.<name>.score`` / ``evaluation.<name>.value`` / ``<name>.score`` (with ``.label`` and
  ``.explanation`` beside them), read in the score's own direction later on.
- Feedback written as a span event (named ``feedback``, ``rating``, ``escalation``..., or any
  event whose name or attribute namespace is a feedback word, such as ``feedback.submitted`` or
  ``memo.rated``) becomes `Feedback` (`flywheel.formats._judgements`): its ``kind`` /
  ``type``, ``value`` / ``score`` / ``rating`` / ``reaction``, ``comment`` / ``note`` / ``text``
  and ``source`` attributes, with or without the namespace; a kind or source of the producer's
  own is kept as it is and mapped to a known meaning by `Feedback`.
- Every attribute not consumed above is kept in ``Step.metadata`` (``Trace.metadata`` gets
  the resource attributes and the root span's ``metadata``/``tag.tags``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flywheel.formats._fields import BadField, answer, list_field
from flywheel.formats._judgements import (
    evaluation_attributes,
    judgement,
    span_annotations,
)
from flywheel.formats._openinference import read_documents, read_errors, read_messages, read_usage
from flywheel.formats._otlp_values import (
    decode_value,
    nanos_to_datetime,
    read_attributes,
    read_ident,
    read_nanos,
)
from flywheel.formats._source import Record, Rejected, TraceSource, build_trace

_GEN_AI_OPERATIONS = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "invoke_workflow": "chain",
    "retrieval": "retriever",
}
#: Span fields read into the step; any other field of the span is kept in its metadata.
_SPAN_FIELDS = {
    "traceId",
    "spanId",
    "parentSpanId",
    "name",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "status",
    "events",
    "attributes",
}


class OtlpFormat:
    name = "otlp"

    def sniff(self, source: TraceSource, head: bytes) -> bool:
        return head.lstrip()[:1] in (b"{", b"[") and b'"resourceSpans"' in head

    def read(self, source: TraceSource) -> Iterator[Record]:
        traces: dict[str, TraceSpans] = {}
        records = source.json_auto()
        for item in records:
            if isinstance(item, Rejected):
                yield item
                continue
            line, document, raw = item
            for span in _spans_of(document, source.name, line, raw):
                if isinstance(span, Rejected):
                    yield span
                    continue
                group = traces.get(span.trace_id)
                if group is None:
                    group = traces[span.trace_id] = TraceSpans(span.trace_id, line)
                group.spans.append(span)
        for group in traces.values():
            yield build_spans_trace(group, source.name)


@dataclass
class _Span:
    trace_id: str
    step: dict[str, Any]
    start_ns: int | None
    resource: dict[str, Any]
    annotations: list[dict[str, Any]]
    trace_metadata: dict[str, Any]
    session_id: str | None
    user_id: str | None
    has_input: bool

    @property
    def id(self) -> str:
        return str(self.step["id"])

    @property
    def parent_id(self) -> str | None:
        parent = self.step.get("parent_id")
        return str(parent) if parent else None


@dataclass
class TraceSpans:
    """The spans of one trace read so far (shared with the Phoenix span format)."""

    trace_id: str
    line: int
    spans: list[_Span] = field(default_factory=list)


def _spans_of(document: Any, file: str, line: int, raw: bytes) -> Iterator[_Span | Rejected]:
    if not isinstance(document, dict) or not isinstance(document.get("resourceSpans"), list):
        yield Rejected(
            file, line, "expected an OTLP document with a resourceSpans list", "resourceSpans", raw
        )
        return
    for r, resource_spans in enumerate(document["resourceSpans"]):
        where = f"resourceSpans[{r}]"
        try:
            if not isinstance(resource_spans, dict):
                raise BadField(where, "expected an object")
            resource_obj = resource_spans.get("resource")
            resource = read_attributes(
                resource_obj.get("attributes") if isinstance(resource_obj, dict) else None,
                f"{where}.resource.attributes",
            )
            scope_spans = list_field(resource_spans.get("scopeSpans"), f"{where}.scopeSpans")
        except BadField as bad:
            yield Rejected(file, line, bad.reason, bad.field, raw)
            continue
        for s, scope_span in enumerate(scope_spans):
            scope_where = f"{where}.scopeSpans[{s}]"
            if not isinstance(scope_span, dict):
                yield Rejected(file, line, "expected an object", scope_where, raw)
                continue
            scope = scope_span.get("scope") or {}
            scope_name = scope.get("name") if isinstance(scope, dict) else None
            try:
                spans = list_field(scope_span.get("spans"), f"{scope_where}.spans")
            except BadField as bad:
                yield Rejected(file, line, bad.reason, bad.field, raw)
                continue
            for i, span in enumerate(spans):
                span_where = f"{scope_where}.spans[{i}]"
                try:
                    yield read_span(span, span_where, resource, scope_name)
                except BadField as bad:
                    span_raw = json.dumps(span, default=str).encode() if span else raw
                    yield Rejected(file, line, bad.reason, bad.field, span_raw)


def read_span(
    span: Any,
    where: str,
    resource: dict[str, Any],
    scope: Any,
    *,
    extra_annotations: list[dict[str, Any]] | None = None,
) -> _Span:
    """One OTLP span (attributes as OTLP pairs or a flat object) read into a step."""
    if not isinstance(span, dict):
        raise BadField(where, "expected a span object")
    trace_id = read_ident(span.get("traceId"), f"{where}.traceId")
    span_id = read_ident(span.get("spanId"), f"{where}.spanId")
    parent = span.get("parentSpanId")
    parent_id = read_ident(parent, f"{where}.parentSpanId") if parent not in (None, "") else None
    start = read_nanos(span.get("startTimeUnixNano"), f"{where}.startTimeUnixNano")
    end = read_nanos(span.get("endTimeUnixNano"), f"{where}.endTimeUnixNano")
    attrs = read_attributes(span.get("attributes"), f"{where}.attributes")
    events = list_field(span.get("events"), f"{where}.events")

    kind = attrs.pop("openinference.span.kind", None)
    if kind is None and "gen_ai.operation.name" in attrs:
        kind = _GEN_AI_OPERATIONS.get(str(attrs["gen_ai.operation.name"]))
    step_input, step_output, has_input = _span_io(attrs)
    model = attrs.pop("llm.model_name", None) or attrs.get("gen_ai.response.model")
    model = model or attrs.get("gen_ai.request.model")
    usage = read_usage(attrs)
    cost = attrs.pop("llm.cost.total", None)
    name, metadata = _span_name(str(span.get("name") or ""), kind, attrs)
    session_id = attrs.pop("session.id", None) or attrs.get("gen_ai.conversation.id")
    user_id = attrs.pop("user.id", None)
    trace_metadata = _trace_metadata(attrs)
    annotations = span_annotations(attrs)
    annotations.extend(evaluation_attributes(attrs))
    annotations.extend(extra_annotations or [])

    error, exception_extra, other_events = read_errors(span.get("status"), events, annotations)
    metadata.update(attrs)
    metadata.update(exception_extra)
    if scope:
        metadata["otel.scope"] = scope
    if other_events:
        metadata["otel.events"] = other_events
    for key, value in span.items():
        if key not in _SPAN_FIELDS:
            metadata[f"otel.{key}"] = value
    latency = (
        (end - start) / 1e6 if start is not None and end is not None and end >= start else None
    )
    step: dict[str, Any] = {
        "id": span_id,
        "parent_id": parent_id,
        "type": kind,
        "name": name,
        "input": step_input,
        "output": step_output,
        "error": error,
        "start_time": nanos_to_datetime(start),
        "latency_ms": latency,
        "model": str(model) if model else None,
        "usage": usage,
        "cost_usd": cost if isinstance(cost, int | float) and cost >= 0 else None,
        "metadata": metadata,
    }
    return _Span(
        trace_id=trace_id,
        step=step,
        start_ns=start,
        resource=resource,
        annotations=annotations,
        trace_metadata=trace_metadata,
        session_id=str(session_id) if session_id is not None else None,
        user_id=str(user_id) if user_id is not None else None,
        has_input=has_input or step_input is not None,
    )


def _span_io(attrs: dict[str, Any]) -> tuple[Any, Any, bool]:
    """A span's input and output (taken out of ``attrs``), and whether it recorded an input:
    OpenInference values, retrieved documents, chat messages, then the GenAI conventions."""
    input_mime = attrs.pop("input.mime_type", None)
    output_mime = attrs.pop("output.mime_type", None)
    has_input = "input.value" in attrs
    step_input = decode_value(attrs.pop("input.value", None), input_mime)
    step_output = decode_value(attrs.pop("output.value", None), output_mime)
    documents = read_documents(attrs)
    if documents is not None:
        if step_output is not None:
            attrs["output.value"] = step_output
        step_output = documents
    messages = read_messages(attrs)
    if step_input is None and messages.get("input"):
        step_input = messages["input"]
    if step_output is None and messages.get("output"):
        step_output = messages["output"]
    # The GenAI conventions (gen_ai.*): a tool call's arguments and result, the chat messages.
    for key in ("gen_ai.tool.call.arguments", "gen_ai.input.messages", "gen_ai.prompt"):
        if step_input is None and key in attrs:
            step_input = decode_value(attrs.pop(key), "application/json")
    for key in ("gen_ai.tool.call.result", "gen_ai.output.messages", "gen_ai.completion"):
        if step_output is None and key in attrs:
            step_output = decode_value(attrs.pop(key), "application/json")
    return step_input, step_output, has_input


def _span_name(name: str, kind: Any, attrs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A step's name (a tool span is named after its tool) and the metadata that keeps the
    other name."""
    tool_name = attrs.pop("tool.name", None) or attrs.get("gen_ai.tool.name")
    metadata: dict[str, Any] = {}
    if tool_name and str(kind or "").lower() == "tool" and tool_name != name:
        metadata["span_name"] = name
        name = str(tool_name)
    elif tool_name and tool_name != name:
        metadata["tool_name"] = tool_name
    return name, metadata


def _trace_metadata(attrs: dict[str, Any]) -> dict[str, Any]:
    """The trace-level ``metadata`` and ``tag.tags`` attributes (taken out of ``attrs``)."""
    found: dict[str, Any] = {}
    if "metadata" in attrs:
        decoded = decode_value(attrs.pop("metadata"), "application/json")
        found.update(decoded if isinstance(decoded, dict) else {"metadata": decoded})
    if "tag.tags" in attrs:
        found["tags"] = attrs.pop("tag.tags")
    return found


def build_spans_trace(group: TraceSpans, file: str) -> Record:
    """The trace of a group of spans, once the whole file was read."""
    spans = sorted(group.spans, key=lambda s: (s.start_ns is None, s.start_ns if s.start_ns else 0))
    ids = {span.id for span in spans}
    tops = [span for span in spans if span.parent_id is None or span.parent_id not in ids]
    roots = [span for span in tops if span.parent_id is None]
    missing = sorted({s.parent_id for s in tops if s.parent_id is not None})
    root = (roots or tops or spans)[0]
    with_input = root if root.has_input else next((s for s in spans if s.has_input), None)
    metadata: dict[str, Any] = {}
    for span in spans:
        if span.resource and "resource" not in metadata:
            metadata["resource"] = span.resource
    metadata.update(root.trace_metadata)
    if missing:
        metadata["incomplete"] = True
        metadata["missing_parent_ids"] = missing
    feedback: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for span in spans:
        for annotation in span.annotations:
            where, record = judgement(annotation, None if span is root else span.id)
            {"feedback": feedback, "score": scores, "metadata": labels}[where].append(record)
    if labels:
        metadata["annotations"] = labels
    costs = [s.step["cost_usd"] for s in spans if s.step["cost_usd"] is not None]
    data = {
        "trace_id": group.trace_id,
        "input": with_input.step["input"] if with_input else root.step["name"],
        "output": answer(root.step["output"]),
        "session_id": root.session_id or next((s.session_id for s in spans if s.session_id), None),
        "user_id": root.user_id or next((s.user_id for s in spans if s.user_id), None),
        "timestamp": root.step["start_time"],
        "latency_ms": root.step["latency_ms"],
        "cost_usd": sum(costs) if costs else None,
        "steps": [span.step for span in spans],
        "feedback": feedback,
        "scores": scores,
        "metadata": metadata,
    }
    if data["input"] is None or data["input"] == "":
        data["input"] = root.step["name"] or group.trace_id
    if not isinstance(data["input"], str | dict | list):
        data["input"] = str(data["input"])
    if data["output"] is not None and not isinstance(data["output"], str | dict | list):
        data["output"] = str(data["output"])
    return build_trace(
        data,
        file=file,
        line=group.line,
        raw=lambda: json.dumps([span.step for span in spans], default=str).encode()[:65536],
    )
