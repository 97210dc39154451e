"""The detectors that depend on where a producer keeps things, in three trace conventions.

Earlier turns, a document's date, a context builder's truncation notice and a tool's schema
each live under different names in a native (flywheel JSONL) trace, in OpenTelemetry spans
with OpenInference attributes (read through the real OTLP format), and in another agent's own
records (LangSmith runs read through the real format, LangChain documents, Langfuse-style
metadata). Each detector fires on the positive case and stays silent on the negative one in
every convention.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flywheel.detectors import detect
from flywheel.formats import Parsed, TraceSource
from flywheel.formats.langsmith import LangSmithFormat
from flywheel.formats.otlp import OtlpFormat
from flywheel.trace import Trace

Build = Callable[[Path], Trace]
NS = 1_763_632_800_000_000_000  # 2025-11-20T10:00:00Z in unix nanoseconds
WHEN = "2025-11-20T10:00:00Z"


def _symptoms(trace: Trace) -> set[str]:
    run = detect(trace)
    assert run.failures == []
    return set(run.symptoms())


# -- builders of the three conventions -------------------------------------------------------


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, dict | list):
        value = json.dumps(value)
    return {"key": key, "value": {"stringValue": value}}


def otlp(tmp: Path, request: str, answer: str, *children: dict[str, Any]) -> Trace:
    """A trace of OpenInference spans: an AGENT root and ``children`` (kind + attributes)."""
    trace_id = "5b8aa5a2d2c872e8321cf37308d69df2"
    spans = [
        {
            "traceId": trace_id,
            "spanId": "root0001",
            "name": "agent",
            "startTimeUnixNano": str(NS),
            "endTimeUnixNano": str(NS + 5_000_000),
            "attributes": [
                _attr("openinference.span.kind", "AGENT"),
                _attr("input.value", request),
                _attr("output.value", answer),
            ],
        }
    ]
    for i, child in enumerate(children, start=1):
        attrs = [_attr("openinference.span.kind", child["kind"])]
        attrs += [_attr(k, v) for k, v in child.get("attributes", {}).items()]
        spans.append(
            {
                "traceId": trace_id,
                "spanId": f"span{i:04d}",
                "parentSpanId": "root0001",
                "name": child.get("name", child["kind"].lower()),
                "startTimeUnixNano": str(NS + i * 1000),
                "endTimeUnixNano": str(NS + i * 1000 + 500),
                "attributes": attrs,
            }
        )
    path = tmp / "spans.json"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    (parsed,) = [r for r in OtlpFormat().read(TraceSource(path)) if isinstance(r, Parsed)]
    return parsed.trace


def langsmith(tmp: Path, request: str, answer: str, *children: dict[str, Any]) -> Trace:
    """A LangSmith root chain run with ``children`` runs (run_type, inputs, outputs...)."""
    runs = [
        {
            "id": "11111111-0000-0000-0000-000000000000",
            "trace_id": "11111111-0000-0000-0000-000000000000",
            "name": "AgentExecutor",
            "run_type": "chain",
            "inputs": {"input": request},
            "outputs": {"output": answer},
            "start_time": WHEN,
            "end_time": "2025-11-20T10:00:05Z",
        }
    ]
    for i, child in enumerate(children, start=1):
        runs.append(
            {
                "id": f"11111111-0000-0000-0000-00000000000{i}",
                "trace_id": "11111111-0000-0000-0000-000000000000",
                "parent_run_id": "11111111-0000-0000-0000-000000000000",
                "start_time": WHEN,
                "end_time": "2025-11-20T10:00:01Z",
                **child,
            }
        )
    path = tmp / "runs.json"
    path.write_text(json.dumps(runs))
    (parsed,) = [r for r in LangSmithFormat().read(TraceSource(path)) if isinstance(r, Parsed)]
    return parsed.trace


def native(**fields: Any) -> Trace:
    return Trace.model_validate({"trace_id": "t1", "timestamp": WHEN, **fields})


# -- earlier turns ---------------------------------------------------------------------------

EARLIER = ["When does the Vandelay renewal contract end?", "It ends on 12 March."]
FOLLOW_UP = "And can you extend it?"
IGNORED = "Sure, what would you like to extend? Please give me more details."
USED = "The Vandelay renewal contract can be extended by a year before 12 March."


def _history_native(tmp: Path, answer: str) -> Trace:
    return native(input={"question": FOLLOW_UP, "chat_history": EARLIER}, output=answer)


def _history_metadata(tmp: Path, answer: str) -> Trace:
    """Langfuse-style: the conversation kept in the trace's metadata."""
    turns = [{"role": "user", "content": EARLIER[0]}, {"role": "assistant", "content": EARLIER[1]}]
    return native(input=FOLLOW_UP, output=answer, metadata={"conversation_history": turns})


def _history_otel(tmp: Path, answer: str) -> Trace:
    messages = {
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You are a helpful account assistant.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": EARLIER[0],
        "llm.input_messages.2.message.role": "assistant",
        "llm.input_messages.2.message.content": EARLIER[1],
        "llm.input_messages.3.message.role": "user",
        "llm.input_messages.3.message.content": FOLLOW_UP,
    }
    return otlp(tmp, FOLLOW_UP, answer, {"kind": "LLM", "attributes": messages})


def _lc(kind: str, text: str) -> dict[str, Any]:
    return {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", kind],
        "kwargs": {"content": text},
    }


def _history_langsmith(tmp: Path, answer: str) -> Trace:
    messages = [[_lc("HumanMessage", EARLIER[0]), _lc("AIMessage", EARLIER[1])]]
    messages[0].append(_lc("HumanMessage", FOLLOW_UP))
    chat = {
        "name": "ChatOpenAI",
        "run_type": "llm",
        "inputs": {"messages": messages},
        "outputs": {"generations": [[{"text": answer}]]},
    }
    return langsmith(tmp, FOLLOW_UP, answer, chat)


HISTORY = [_history_native, _history_metadata, _history_otel, _history_langsmith]


@pytest.mark.parametrize("build", HISTORY, ids=lambda b: b.__name__)
def test_a_follow_up_whose_answer_ignores_the_earlier_turns(
    build: Callable[[Path, str], Trace], tmp_path: Path
) -> None:
    assert "history_ignored" in _symptoms(build(tmp_path, IGNORED))
    assert not {"history_ignored", "history_missing"} & _symptoms(build(tmp_path, USED))


BACK_REFERENCE = "As I said before, cancel the second one."


@pytest.mark.parametrize(
    "build",
    [
        lambda tmp, request: native(input={"question": request}, output="Cancelled."),
        lambda tmp, request: otlp(
            tmp,
            request,
            "Cancelled.",
            {
                "kind": "LLM",
                "attributes": {
                    "llm.input_messages.0.message.role": "user",
                    "llm.input_messages.0.message.content": request,
                },
            },
        ),
        lambda tmp, request: langsmith(tmp, request, "Cancelled."),
    ],
    ids=["native", "otel", "langsmith"],
)
def test_a_follow_up_that_reached_the_model_without_any_earlier_turn(
    build: Callable[[Path, str], Trace], tmp_path: Path
) -> None:
    assert "history_missing" in _symptoms(build(tmp_path, BACK_REFERENCE))
    assert "history_missing" not in _symptoms(build(tmp_path, "Cancel order 4411, please."))


# -- a document's age --------------------------------------------------------------------------

OLD_DAY, RECENT_DAY = "2023-01-05", "2025-10-01"
ANSWER = "Service status: all systems operational. [KB-12]"


def _dates_native(tmp: Path, day: str) -> Trace:
    docs = [{"id": "KB-12", "title": "Service status page", "date": day}]
    step = {"id": "r", "type": "retriever", "name": "kb", "output": {"documents": docs}}
    return native(input="Is the service up?", output=ANSWER, steps=[step])


def _dates_otel(tmp: Path, day: str) -> Trace:
    attrs = {
        "retrieval.documents.0.document.id": "KB-12",
        "retrieval.documents.0.document.content": "Service status page: all systems operational",
        "retrieval.documents.0.document.score": "0.82",
        "retrieval.documents.0.document.metadata": {"last_updated": f"{day}T08:00:00Z"},
    }
    return otlp(tmp, "Is the service up?", ANSWER, {"kind": "RETRIEVER", "attributes": attrs})


def _dates_otel_flat(tmp: Path, day: str) -> Trace:
    """OpenInference attributes kept flat in a native step's metadata (no OTLP decoding)."""
    metadata = {
        "retrieval.documents.0.document.id": "KB-12",
        "retrieval.documents.0.document.metadata": json.dumps({"updated_at": day}),
    }
    step = {"id": "r", "type": "retriever", "name": "kb", "metadata": metadata}
    return native(input="Is the service up?", output=ANSWER, steps=[step])


def _dates_langchain(tmp: Path, day: str) -> Trace:
    """LangChain documents in a LangSmith retriever run: the id and an epoch-ms date in
    ``metadata`` under the producer's own names."""
    epoch_ms = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)
    doc = {
        "page_content": "Service status page: all systems operational",
        "metadata": {"source": "KB-12", "lastModified": epoch_ms},
        "type": "Document",
    }
    retriever = {
        "name": "VectorStoreRetriever",
        "run_type": "retriever",
        "inputs": {"query": "service status"},
        "outputs": {"documents": [doc]},
    }
    return langsmith(tmp, "Is the service up?", ANSWER, retriever)


@pytest.mark.parametrize(
    "build",
    [_dates_native, _dates_otel, _dates_otel_flat, _dates_langchain],
    ids=lambda b: b.__name__,
)
def test_an_answer_citing_a_document_years_older_than_the_trace(
    build: Callable[[Path, str], Trace], tmp_path: Path
) -> None:
    assert "stale_source" in _symptoms(build(tmp_path, OLD_DAY))
    assert "stale_source" not in _symptoms(build(tmp_path, RECENT_DAY))


def test_a_numbered_citation_names_the_nth_retrieved_document(tmp_path: Path) -> None:
    trace = _dates_native(tmp_path, OLD_DAY)
    numbered = trace.model_copy(update={"output": "All systems operational [1]."})
    assert "stale_source" in _symptoms(numbered)
    assert "citation_not_retrieved" not in _symptoms(numbered)
    beyond = trace.model_copy(update={"output": "All systems operational [2]."})
    assert "citation_not_retrieved" in _symptoms(beyond)
    # A bracketed word is not a citation.
    marker = trace.model_copy(update={"output": "All systems operational [truncated]"})
    assert "citation_not_retrieved" not in _symptoms(marker)


# -- a context builder reporting what it dropped ----------------------------------------------

DOCS = ["d1", "d2", "d3", "d4"]


def _truncation_native(tmp: Path, dropped: bool) -> Trace:
    kept = DOCS[:1] if dropped else DOCS
    step = {
        "id": "c",
        "type": "chain",
        "name": "select_context",
        "input": {"candidates": DOCS},
        "output": {"context": kept},
    }
    return native(input="Summarise the incident.", output="Summary.", steps=[step])


def _truncation_otel(tmp: Path, dropped: bool) -> Trace:
    attrs = {"rag.context.truncated": dropped, "rag.context.dropped_documents": 3 if dropped else 0}
    return otlp(tmp, "Summarise the incident.", "Summary.", {"kind": "CHAIN", "attributes": attrs})


def _truncation_own_names(tmp: Path, dropped: bool) -> Trace:
    """Another agent's context builder: its own keys, and a notice in its text output."""
    note = "Built context: 2 documents omitted to fit the window." if dropped else "Built context."
    step = {"id": "c", "type": "other", "name": "ContextPacker", "output": note}
    return native(input="Summarise the incident.", output="Summary.", steps=[step])


def _truncation_langsmith(tmp: Path, dropped: bool) -> Trace:
    packer = {
        "name": "pack_context",
        "run_type": "chain",
        "inputs": {"documents": DOCS},
        "outputs": {"kept": DOCS[:2] if dropped else DOCS, "omitted": DOCS[2:] if dropped else []},
    }
    return langsmith(tmp, "Summarise the incident.", "Summary.", packer)


@pytest.mark.parametrize(
    "build",
    [_truncation_native, _truncation_otel, _truncation_own_names, _truncation_langsmith],
    ids=lambda b: b.__name__,
)
def test_a_context_builder_that_dropped_material(
    build: Callable[[Path, bool], Trace], tmp_path: Path
) -> None:
    assert "context_dropped" in _symptoms(build(tmp_path, True))
    assert "context_dropped" not in _symptoms(build(tmp_path, False))


def test_a_retriever_returning_its_top_k_is_not_truncation() -> None:
    step = {
        "id": "r",
        "type": "reranker",
        "name": "rerank",
        "input": {"documents": DOCS},
        "output": {"documents": DOCS[:2]},
    }
    assert "context_dropped" not in _symptoms(native(input="q", output="a", steps=[step]))


# -- tool schemas under other names -----------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "priority": {"type": "string", "enum": ["low", "medium", "high"]},
    },
    "required": ["title", "priority"],
}
BAD = {"title": "VPN down", "priority": "urgent"}
GOOD = {"title": "VPN down", "priority": "high"}


def _schema_native(tmp: Path, args: dict[str, Any]) -> Trace:
    tools = [{"type": "function", "function": {"name": "create_ticket", "parameters": SCHEMA}}]
    step = {"id": "t", "type": "tool", "name": "create_ticket", "input": args, "output": "ok"}
    return native(input="Open a ticket", output="Done.", metadata={"tools": tools}, steps=[step])


def _schema_otel(tmp: Path, args: dict[str, Any]) -> Trace:
    llm = {
        "kind": "LLM",
        "attributes": {
            "llm.tools.0.tool.json_schema": {
                "type": "function",
                "function": {"name": "create_ticket", "parameters": SCHEMA},
            }
        },
    }
    tool = {
        "kind": "TOOL",
        "name": "create_ticket",
        "attributes": {
            "tool.name": "create_ticket",
            "input.value": json.dumps(args),
            "input.mime_type": "application/json",
        },
    }
    return otlp(tmp, "Open a ticket", "Done.", llm, tool)


def _schema_otel_tool_parameters(tmp: Path, args: dict[str, Any]) -> Trace:
    tool = {
        "kind": "TOOL",
        "name": "create_ticket",
        "attributes": {
            "tool.name": "create_ticket",
            "tool.parameters": SCHEMA,
            "input.value": json.dumps(args),
            "input.mime_type": "application/json",
        },
    }
    return otlp(tmp, "Open a ticket", "Done.", tool)


def _schema_langsmith(tmp: Path, args: dict[str, Any]) -> Trace:
    """Anthropic-style ``input_schema`` in LangSmith's invocation params; a LangChain tool run
    whose input is the arguments as a JSON string."""
    chat = {
        "name": "ChatAnthropic",
        "run_type": "llm",
        "inputs": {"messages": [[_lc("HumanMessage", "Open a ticket")]]},
        "extra": {
            "invocation_params": {
                "tools": [{"name": "create_ticket", "input_schema": SCHEMA}],
            }
        },
    }
    tool = {
        "name": "create_ticket",
        "run_type": "tool",
        "inputs": {"input": json.dumps(args)},
        "outputs": {"output": "ok"},
    }
    return langsmith(tmp, "Open a ticket", "Done.", chat, tool)


@pytest.mark.parametrize(
    "build",
    [_schema_native, _schema_otel, _schema_otel_tool_parameters, _schema_langsmith],
    ids=lambda b: b.__name__,
)
def test_a_tool_call_outside_its_declared_schema(
    build: Callable[[Path, dict[str, Any]], Trace], tmp_path: Path
) -> None:
    run = detect(build(tmp_path, BAD))
    found = {d.symptom: d for d in run.detections}
    assert "tool_arguments_off_schema" in found
    assert "'priority' = 'urgent'" in found["tool_arguments_off_schema"].evidence
    assert found["tool_arguments_off_schema"].cause == "tool_arguments"
    assert "tool_arguments_off_schema" not in _symptoms(build(tmp_path, GOOD))
    missing = {"title": "VPN down"}
    assert "tool_arguments_off_schema" in _symptoms(build(tmp_path, missing))
