"""OpenAI Agents SDK traces: what its ``BackendSpanExporter`` sends (``{"data": [...]}``
batches of exported traces and spans), as one document, JSONL of batches, or a plain list.

Items (``agents.tracing``: ``Trace.export()`` / ``Span.export()``)::

    {"object": "trace", "id", "workflow_name", "group_id", "metadata"}
    {"object": "trace.span", "id", "trace_id", "parent_id", "started_at", "ended_at",
     "span_data": {"type": "agent" | "generation" | "response" | "function" | "handoff" |
                   "guardrail" | "custom" | "mcp_tools" | "transcription" | "speech", ...},
     "error": {"message", "data"} | null}

Spans are grouped by ``trace_id`` across the file. ``span_data.type`` gives the step type
(generation and response -> llm, function and mcp_tools -> tool, handoff -> router), its
``name`` (an agent's, a function's; a handoff's ``to_agent``) the name, its ``input`` /
``output`` the step's, ``model`` and ``usage`` (``input_tokens`` / ``output_tokens``) the
model and tokens; a span's ``error`` is the step's error, and a triggered guardrail is one too.
The trace's ``workflow_name`` and ``metadata`` go to its metadata and ``group_id`` is its
session. Input: the last user message of the first model call; answer: the last model call's
reply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flywheel.formats._fields import BadField, answer, timestamp_field
from flywheel.formats._source import Record, Rejected, TraceSource, build_trace
from flywheel.formats.chat import head_text

_OBJECT = re.compile(r'"object"\s*:\s*"trace(\.span)?"')
_TYPES = {
    "agent": "agent",
    "generation": "llm",
    "response": "llm",
    "transcription": "llm",
    "speech": "llm",
    "speech_group": "chain",
    "function": "tool",
    "mcp_tools": "tool",
    "handoff": "router",
    "guardrail": "guardrail",
    "custom": "other",
}


class OpenAIAgentsFormat:
    name = "openai-agents"

    def sniff(self, source: TraceSource, head: bytes) -> bool:
        text = head_text(head)
        return text.startswith(("{", "[")) and _OBJECT.search(text) is not None

    def read(self, source: TraceSource) -> Iterator[Record]:
        traces: dict[str, _Group] = {}
        for item in source.json_auto():
            if isinstance(item, Rejected):
                yield item
                continue
            line, data, raw = item
            rows = data.get("data") if isinstance(data, dict) and "data" in data else data
            for i, row in enumerate(rows if isinstance(rows, list) else [rows]):
                where = f"data[{i}]" if isinstance(rows, list) else ""
                try:
                    _add(traces, row, where, line)
                except BadField as bad:
                    yield Rejected(source.name, line, bad.reason, bad.field, raw[:4096])
        for trace_id, group in traces.items():
            yield _build(trace_id, group, source.name)


@dataclass
class _Group:
    line: int
    trace: dict[str, Any] | None = None
    spans: list[dict[str, Any]] = field(default_factory=list)


def _add(traces: dict[str, _Group], row: Any, where: str, line: int) -> None:
    if not isinstance(row, dict):
        raise BadField(where or "item", "expected a trace or span object")
    kind = row.get("object")
    key = "id" if kind == "trace" else "trace_id"
    trace_id = row.get(key)
    if not isinstance(trace_id, str) or not trace_id:
        raise BadField(f"{where}.{key}" if where else key, "missing: every item needs its trace id")
    group = traces.setdefault(trace_id, _Group(line))
    if kind == "trace":
        group.trace = row
    elif kind == "trace.span":
        group.spans.append(_step(row, where))
    else:
        raise BadField(f"{where}.object" if where else "object", f"unknown object {kind!r}")


def _step(span: dict[str, Any], where: str) -> dict[str, Any]:
    data = _dict(span.get("span_data"))
    kind = str(data.get("type") or "custom")
    start = timestamp_field(span.get("started_at"), f"{where}.started_at")
    end = timestamp_field(span.get("ended_at"), f"{where}.ended_at")
    error = span.get("error")
    message = None
    if isinstance(error, dict):
        message = str(error.get("message") or "error")
        if error.get("data"):
            message = f"{message}: {json.dumps(error['data'], default=str)[:500]}"
    elif error:
        message = str(error)
    if kind == "guardrail" and data.get("triggered") and message is None:
        message = f"guardrail '{data.get('name')}' was triggered"
    name = data.get("name") or (data.get("to_agent") if kind == "handoff" else None) or kind
    usage = _dict(data.get("usage"))
    tokens = {
        ours: int(usage[theirs])
        for theirs, ours in (
            ("input_tokens", "prompt_tokens"),
            ("output_tokens", "completion_tokens"),
        )
        if isinstance(usage.get(theirs), int) and not isinstance(usage.get(theirs), bool)
    }
    if tokens:
        tokens["total_tokens"] = sum(tokens.values())
    output = data.get("output")
    if kind == "handoff":
        output = {"route": data.get("to_agent"), "from_agent": data.get("from_agent")}
    rest = {
        k: v
        for k, v in data.items()
        if k not in ("type", "name", "input", "output", "model", "usage") and v is not None
    }
    return {
        "id": str(span.get("id") or f"{where}"),
        "parent_id": span.get("parent_id") or None,
        "type": _TYPES.get(kind, kind),
        "name": str(name),
        "input": data.get("input"),
        "output": output,
        "error": message,
        "start_time": start,
        "latency_ms": _ms(start, end),
        "model": data.get("model") if isinstance(data.get("model"), str) else None,
        "usage": tokens or None,
        "metadata": {"span_type": kind, **rest},
    }


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds() * 1000


def _build(trace_id: str, group: _Group, file: str) -> Record:
    steps = sorted(group.spans, key=lambda s: (s["start_time"] is None, str(s["start_time"])))
    trace = group.trace or {}
    calls = [s for s in steps if s["type"] == "llm"]
    first_input = calls[0]["input"] if calls else None
    request = _last_user(first_input) if first_input is not None else None
    reply = answer(calls[-1]["output"]) if calls else None
    metadata: dict[str, Any] = {"producer": "openai-agents"}
    if trace.get("workflow_name"):
        metadata["workflow_name"] = trace["workflow_name"]
    if isinstance(trace.get("metadata"), dict):
        metadata.update(trace["metadata"])
    if group.trace is None:
        metadata["missing_trace_record"] = True
    roots = [s for s in steps if not s["parent_id"]]
    data = {
        "trace_id": trace_id,
        "input": request or trace.get("workflow_name") or trace_id,
        "output": reply if isinstance(reply, str | dict | list) else None,
        "session_id": trace.get("group_id") or None,
        "timestamp": roots[0]["start_time"] if roots else None,
        "latency_ms": roots[0]["latency_ms"] if roots else None,
        "steps": steps,
        "metadata": metadata,
    }
    return build_trace(
        data,
        file=file,
        line=group.line,
        raw=lambda: json.dumps({"trace": trace, "spans": len(steps)}, default=str).encode(),
    )


def _last_user(messages: Any) -> Any:
    if isinstance(messages, str):
        return messages
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, list):
                    parts = [p.get("text") for p in content if isinstance(p, dict)]
                    content = "\n".join(p for p in parts if isinstance(p, str)) or content
                return content
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
