"""Phoenix span JSON: what the Phoenix client (``client.spans.get_spans``) and its REST API
(``GET /v1/projects/{project}/spans``, a ``{"data": [...], "next_cursor"}`` page) return.

A span is ``{"id", "name", "context": {"trace_id", "span_id"}, "span_kind", "parent_id",
"start_time", "end_time" (ISO 8601), "status_code", "status_message", "attributes": {flat
OpenInference keys}, "events": [{"name", "timestamp", "attributes"}]}``. Each span is read
exactly as its OTLP form would be (`flywheel.formats.otlp`: the OpenInference mapping, the
annotations, feedback events and evaluation attributes), and spans are grouped into traces by
``context.trace_id`` across the file. A JSON array of spans, a page, or JSONL (one span or one
page per line) are all accepted. Span annotations listed beside the spans (an
``"annotations"`` list of ``{"span_id", "name", "annotator_kind", "result": {"label",
"score", "explanation"}}``, as the span-annotations endpoint returns them) join their span.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flywheel.formats._fields import BadField, field_path
from flywheel.formats._source import Record, Rejected, TraceSource
from flywheel.formats.otlp import TraceSpans, build_spans_trace, read_span

_CONTEXT = re.compile(r'"context"\s*:\s*\{\s*"(trace_id|span_id)"\s*:')


class PhoenixFormat:
    name = "phoenix"

    def sniff(self, source: TraceSource, head: bytes) -> bool:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
        return (
            text.startswith(("[", "{"))
            and '"span_kind"' in text
            and _CONTEXT.search(text) is not None
        )

    def read(self, source: TraceSource) -> Iterator[Record]:
        traces: dict[str, TraceSpans] = {}
        annotations: dict[str, list[dict[str, Any]]] = {}
        pending: list[tuple[int, str, dict[str, Any], bytes]] = []
        for item in source.json_auto():
            if isinstance(item, Rejected):
                yield item
                continue
            line, data, raw = item
            if isinstance(data, dict) and isinstance(data.get("annotations"), list):
                for note in data["annotations"]:
                    if isinstance(note, dict) and note.get("span_id"):
                        annotations.setdefault(str(note["span_id"]), []).append(note)
            rows: list[tuple[str, Any]]
            if isinstance(data, dict) and isinstance(data.get("data"), list):
                rows = [(f"data[{i}]", span) for i, span in enumerate(data["data"])]
            elif isinstance(data, dict) and "annotations" in data and "context" not in data:
                rows = []
            else:
                rows = [("", data)]
            for where, span in rows:
                if not isinstance(span, dict):
                    yield Rejected(source.name, line, "expected a span object", where or None, raw)
                    continue
                pending.append((line, where, span, raw))
        for line, where, span, raw in pending:
            try:
                otlp = _as_otlp(span, where)
                context = span.get("context") or {}
                notes = annotations.get(str(context.get("span_id")), [])
                parsed = read_span(otlp, where, {}, None, extra_annotations=_notes(notes))
            except BadField as bad:
                yield Rejected(source.name, line, bad.reason, bad.field, raw)
                continue
            group = traces.get(parsed.trace_id)
            if group is None:
                group = traces[parsed.trace_id] = TraceSpans(parsed.trace_id, line)
            group.spans.append(parsed)
        for group in traces.values():
            yield build_spans_trace(group, source.name)


def _as_otlp(span: dict[str, Any], where: str) -> dict[str, Any]:
    context = span.get("context")
    if not isinstance(context, dict):
        raise BadField(field_path(where, "context"), "missing: every span needs its context")
    attributes = span.get("attributes")
    if isinstance(attributes, str):  # some exports keep the attributes as JSON text
        try:
            attributes = json.loads(attributes)
        except ValueError:
            raise BadField(field_path(where, "attributes"), "not a JSON object") from None
    attributes = dict(attributes) if isinstance(attributes, dict) else {}
    kind = span.get("span_kind")
    if kind and "openinference.span.kind" not in attributes:
        attributes["openinference.span.kind"] = kind
    status = str(span.get("status_code") or "").upper()
    events = []
    for event in span.get("events") or []:
        if isinstance(event, dict):
            events.append(
                {
                    "name": event.get("name"),
                    "timeUnixNano": _nanos(event.get("timestamp"), "events.timestamp"),
                    "attributes": event.get("attributes") or {},
                }
            )
    extra = {
        k: v
        for k, v in span.items()
        if k not in _PHOENIX_FIELDS and v is not None and not (isinstance(v, str) and not v)
    }
    return {
        "traceId": context.get("trace_id"),
        "spanId": context.get("span_id"),
        "parentSpanId": span.get("parent_id"),
        "name": span.get("name"),
        "startTimeUnixNano": _nanos(span.get("start_time"), field_path(where, "start_time")),
        "endTimeUnixNano": _nanos(span.get("end_time"), field_path(where, "end_time")),
        "status": {"code": "ERROR", "message": span.get("status_message")}
        if status == "ERROR"
        else None,
        "attributes": attributes,
        "events": events,
        **{f"phoenix_{k}": v for k, v in extra.items()},
    }


_PHOENIX_FIELDS = {
    "context",
    "attributes",
    "span_kind",
    "status_code",
    "status_message",
    "events",
    "parent_id",
    "name",
    "start_time",
    "end_time",
}


def _nanos(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadField(where, f"expected an ISO 8601 time, got {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # naive times are UTC
        return int(moment.timestamp() * 1_000_000) * 1000
    raise BadField(where, f"expected an ISO 8601 time, got {value!r}")


def _notes(notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Phoenix span annotations as OpenInference annotation records."""
    records: list[dict[str, Any]] = []
    for note in notes:
        result = note.get("result")
        outcome: dict[str, Any] = result if isinstance(result, dict) else {}
        records.append(
            {
                "name": note.get("name"),
                "annotator_kind": note.get("annotator_kind"),
                "score": outcome.get("score"),
                "label": outcome.get("label"),
                "explanation": outcome.get("explanation"),
            }
        )
    return records
