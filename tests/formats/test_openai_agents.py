"""OpenAI Agents SDK traces as its BackendSpanExporter sends them: the items follow
``Trace.export()`` and ``Span.export()`` / ``*SpanData.export()`` of ``agents.tracing``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flywheel.config import SignalsConfig
from flywheel.formats import TraceSource, detect
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store


def _span(span_id: str, parent: str | None, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "object": "trace.span",
        "id": span_id,
        "trace_id": "trace_abc",
        "parent_id": parent,
        "started_at": extra.get("start", "2025-09-30T10:00:00.000000+00:00"),
        "ended_at": extra.get("end", "2025-09-30T10:00:03.000000+00:00"),
        "span_data": data,
        "error": extra.get("error"),
    }


def test_an_exported_batch_becomes_a_trace_with_its_tree(store: Store, tmp_path: Path) -> None:
    batch = {
        "data": [
            {
                "object": "trace",
                "id": "trace_abc",
                "workflow_name": "Support triage",
                "group_id": "thread-7",
                "metadata": {"tenant": "acme"},
            },
            _span(
                "span_agent",
                None,
                {
                    "type": "agent",
                    "name": "Triage",
                    "handoffs": ["Billing"],
                    "tools": ["lookup"],
                    "output_type": "str",
                },
            ),
            _span(
                "span_gen",
                "span_agent",
                {
                    "type": "generation",
                    "input": [{"role": "user", "content": "Why was I charged twice?"}],
                    "output": [{"role": "assistant", "content": "Let me look that up."}],
                    "model": "gpt-4.1",
                    "model_config": {"temperature": 0},
                    "usage": {"input_tokens": 80, "output_tokens": 12},
                },
                start="2025-09-30T10:00:00.100000+00:00",
            ),
            _span(
                "span_tool",
                "span_agent",
                {
                    "type": "function",
                    "name": "lookup",
                    "input": '{"order": 1}',
                    "output": None,
                    "mcp_data": None,
                },
                start="2025-09-30T10:00:01.000000+00:00",
                error={
                    "message": "Error running tool",
                    "data": {"tool_name": "lookup", "error": "timeout"},
                },
            ),
            _span(
                "span_handoff",
                "span_agent",
                {"type": "handoff", "from_agent": "Triage", "to_agent": "Billing"},
                start="2025-09-30T10:00:02.000000+00:00",
            ),
        ]
    }
    path = tmp_path / "agents.json"
    path.write_text(json.dumps(batch), encoding="utf-8")

    found = detect(TraceSource(path))
    counts = ingest_paths(store, [path])
    detect_failures(store, SignalsConfig())

    assert found is not None
    assert found.format.name == "openai-agents"
    assert (counts.stored, counts.quarantined) == (1, 0)
    stored = store.get_trace("trace_abc")
    trace = stored.trace
    assert [(s.type.value, s.parent_id, s.name) for s in trace.steps] == [
        ("agent", None, "Triage"),
        ("llm", "span_agent", "generation"),
        ("tool", "span_agent", "lookup"),
        ("router", "span_agent", "Billing"),
    ]
    assert trace.steps[1].model == "gpt-4.1"
    assert trace.steps[1].usage == {
        "prompt_tokens": 80,
        "completion_tokens": 12,
        "total_tokens": 92,
    }
    assert trace.steps[2].error is not None
    assert trace.steps[2].error.startswith("Error running tool")
    assert trace.route == "Billing"
    assert trace.input_text == "Why was I charged twice?"
    assert trace.output_text == "Let me look that up."
    assert trace.session_id == "thread-7"
    assert trace.metadata["workflow_name"] == "Support triage"
    assert stored.failing is True
