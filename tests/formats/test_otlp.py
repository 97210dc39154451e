"""OTLP JSON with OpenInference attributes: spans grouped into traces, orphans kept."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from flywheel.formats import Parsed, Rejected, TraceSource, detect_format
from flywheel.formats.otlp import OtlpFormat
from flywheel.ingest import ingest_paths
from flywheel.store import Store
from flywheel.trace import FeedbackKind, StepType, Trace

DATA = Path(__file__).parent / "data"
SPANS = DATA / "otlp_spans.jsonl"
REFUND = "4bf92f3577b34da6a3ce929d0e0e4736"
CANCEL = "0af7651916cd43dd8448eb211c80319c"
ORPHAN = "5b8aa5a2d2c872e8321cf37308d69df2"


def read(path: Path) -> list[Parsed | Rejected]:
    return list(OtlpFormat().read(TraceSource(path)))


def traces(path: Path) -> dict[str, Trace]:
    return {r.trace.trace_id: r.trace for r in read(path) if isinstance(r, Parsed)}


def span(trace_id: object, span_id: object, **extra: object) -> dict[str, object]:
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "agent",
        "startTimeUnixNano": "1717000000000000000",
        "endTimeUnixNano": "1717000001000000000",
        "attributes": [{"key": "input.value", "value": {"stringValue": "hello"}}],
        **extra,
    }


def document(*spans: dict[str, object]) -> str:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]})


def test_spans_become_a_step_tree_with_the_root_giving_the_trace() -> None:
    found = traces(SPANS)
    assert list(found) == [REFUND, CANCEL, ORPHAN]
    trace = found[REFUND]

    assert trace.input == {"input": "Where is my refund for order 8812?"}  # JSON mime decoded
    assert trace.output == {"output": "Your refund was issued on May 2."}
    assert (trace.session_id, trace.user_id) == ("sess-42", "user-7")
    assert trace.latency_ms == 2400.0
    assert trace.timestamp is not None
    assert trace.timestamp.tzinfo is not None
    assert trace.metadata["release"] == "2024.05.1"
    assert trace.metadata["tags"] == ["prod", "refunds"]
    assert trace.metadata["resource"]["service.name"] == "support-agent"
    assert [(s.id, s.parent_id, s.type) for s in trace.steps] == [
        ("00f067aa0ba902b7", None, StepType.chain),
        ("b7ad6b7169203331", "00f067aa0ba902b7", StepType.llm),
        ("e9a1b2c3d4e5f601", "00f067aa0ba902b7", StepType.retriever),
        ("1a2b3c4d5e6f7081", "00f067aa0ba902b7", StepType.tool),
    ]
    llm, retriever, tool = trace.steps[1:]
    assert llm.model == "gpt-4o-mini"
    assert llm.usage == {"prompt_tokens": 412, "completion_tokens": 38, "total_tokens": 450}
    assert llm.input[1] == {"role": "user", "content": "Where is my refund for order 8812?"}
    assert retriever.output == [
        {"id": "kb-101", "score": 0.83, "content": "Refunds are issued within 5 business days."},
        {
            "id": "kb-007",
            "score": 0.41,
            "content": "Shipping takes 3 days.",
            "metadata": {"updated": "2022-01-01"},
        },
    ]
    assert tool.name == "lookup_order"
    assert tool.input == {"order_id": "8812"}
    assert tool.error == "TimeoutError: orders API timed out after 500ms"
    assert "Traceback" in tool.metadata["exception.stacktrace"]
    assert trace.errors == [tool]
    assert trace.tool_calls == 1


def test_a_trace_split_over_lines_is_joined_with_its_annotations() -> None:
    trace = traces(SPANS)[CANCEL]

    assert [s.id for s in trace.steps] == ["53995c3f42cd8ad8", "8d3e2f1a0b9c8d7e"]
    assert trace.steps[0].type is StepType.agent
    assert trace.session_id == "sess-43"
    assert trace.cost_usd == pytest.approx(0.0012)
    assert len(trace.feedback) == 1
    thumb = trace.feedback[0]
    assert (thumb.kind, thumb.value, thumb.comment) == (
        FeedbackKind.thumb,
        -1.0,
        "It refused a simple request",
    )
    assert [(s.name, s.value, s.source) for s in trace.scores] == [("helpfulness", 0.2, "llm")]
    assert trace.scores[0].model_extra == {"step_id": "8d3e2f1a0b9c8d7e"}


def test_a_trace_whose_root_never_arrived_keeps_every_span() -> None:
    trace = traces(SPANS)[ORPHAN]

    assert trace.metadata["incomplete"] is True
    assert trace.metadata["missing_parent_ids"] == ["ffffeeeeddddcccc"]
    assert [(s.id, s.parent_id) for s in trace.steps] == [
        ("aaaabbbbccccdddd", "ffffeeeeddddcccc"),
        ("1111222233334444", "aaaabbbbccccdddd"),
    ]
    assert trace.input == "vacation policy"
    assert trace.latency_ms == 300.0
    assert "incomplete" not in traces(SPANS)[REFUND].metadata


def test_input_falls_back_to_the_root_span_name(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    root = span("t1", "s1", attributes=[])
    path.write_text(document(root, span("t1", "s2", parentSpanId="s1", attributes=[])) + "\n")

    (trace,) = traces(path).values()
    assert trace.input == "agent"
    assert [s.parent_id for s in trace.steps] == [None, "s1"]


def test_a_pretty_printed_document_and_a_gzip_copy_read_the_same(tmp_path: Path) -> None:
    first_line = SPANS.read_text().splitlines()[0]
    pretty = tmp_path / "export.json"
    pretty.write_text(json.dumps(json.loads(first_line), indent=2))
    compressed = tmp_path / "spans.jsonl.gz"
    compressed.write_bytes(gzip.compress(SPANS.read_bytes()))

    from_pretty = traces(pretty)
    assert from_pretty[REFUND].to_json() == traces(SPANS)[REFUND].to_json()
    assert [t.to_json() for t in traces(compressed).values()] == [
        t.to_json() for t in traces(SPANS).values()
    ]
    for path in (pretty, compressed):
        detected = detect_format(TraceSource(path))
        assert detected is not None
        assert detected.name == "otlp"


def test_bad_spans_are_rejected_by_line_and_field_and_good_ones_survive(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    bad_int = span("t4", "s4", attributes=[{"key": "n", "value": {"intValue": "many"}}])
    lines = [
        document(span("t1", "s1")),
        document(span("t2", None)),
        document(span("t1", "s2", parentSpanId="s1"))[:-7],
        document(span(["t3"], "s3")),
        document(bad_int, span("t5", "s5")),
        json.dumps({"resourceSpans": {"not": "a list"}}),
        document(span("t6", "s6", startTimeUnixNano="yesterday")),
    ]
    path.write_text("\n".join(lines) + "\n")

    records = read(path)
    rejected = [(r.line, r.field) for r in records if isinstance(r, Rejected)]
    assert rejected == [
        (2, "resourceSpans[0].scopeSpans[0].spans[0].spanId"),
        (3, None),  # truncated JSON: the decoder's column says where
        (4, "resourceSpans[0].scopeSpans[0].spans[0].traceId"),
        (5, "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value"),
        (6, "resourceSpans"),
        (7, "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano"),
    ]
    assert all(r.file == str(path) for r in records if isinstance(r, Rejected))
    assert sorted(traces(path)) == ["t1", "t5"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("otlp_spans.jsonl", "otlp"),
        ("langsmith_runs.json", "langsmith"),
        ("langsmith_runs.jsonl", "langsmith"),
        ("langfuse_traces.json", "langfuse"),
        ("langfuse_export.jsonl", "langfuse"),
    ],
)
def test_detection_picks_the_producer_of_each_fixture(name: str, expected: str) -> None:
    detected = detect_format(TraceSource(DATA / name))
    assert detected is not None
    assert detected.name == expected


def test_no_trace_format_of_ours_claims_a_native_file(tmp_path: Path) -> None:
    path = tmp_path / "native.jsonl"
    path.write_text(json.dumps({"trace_id": "t1", "input": "hi", "steps": []}) + "\n")
    head = TraceSource(path).head()
    from flywheel.formats.langfuse import LangfuseFormat
    from flywheel.formats.langsmith import LangSmithFormat

    for fmt in (OtlpFormat(), LangSmithFormat(), LangfuseFormat()):
        assert not fmt.sniff(TraceSource(path), head)
    detected = detect_format(TraceSource(path))
    assert detected is not None
    assert detected.name == "native"


def test_ingest_stores_every_trace_once(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        first = ingest_paths(store, [SPANS])
        second = ingest_paths(store, [SPANS])
        stored = store.get_trace(ORPHAN, "otlp").trace
    finally:
        store.close()
    assert (first.read, first.stored, first.quarantined) == (3, 3, 0)
    assert first.read == first.stored + first.updated + first.duplicates + first.quarantined
    assert (second.read, second.stored, second.updated, second.duplicates) == (3, 0, 0, 3)
    assert stored.metadata["incomplete"] is True


def _attrs(**values: object) -> list[dict[str, object]]:
    def any_value(value: object) -> dict[str, object]:
        if isinstance(value, int):
            return {"intValue": str(value)}
        return {"stringValue": value}

    return [{"key": k.replace("__", "."), "value": any_value(v)} for k, v in values.items()]


def test_spans_in_the_genai_conventions_read_like_openinference_ones(tmp_path: Path) -> None:
    """OpenTelemetry's GenAI conventions (``gen_ai.*``): the agent, a chat with its messages
    and token usage, a tool call with its arguments and result, the conversation id."""
    spans = [
        span(
            "t1",
            "a",
            name="invoke_agent supervisor",
            attributes=_attrs(
                gen_ai__operation__name="invoke_agent",
                gen_ai__agent__name="supervisor",
                gen_ai__conversation__id="conv-9",
                gen_ai__input__messages=json.dumps(
                    [
                        {
                            "role": "user",
                            "parts": [{"type": "text", "content": "Why is invoice 88 on hold?"}],
                        }
                    ]
                ),
            ),
        ),
        span(
            "t1",
            "b",
            parentSpanId="a",
            name="chat gpt-4.1",
            attributes=_attrs(
                gen_ai__operation__name="chat",
                gen_ai__request__model="gpt-4.1",
                gen_ai__usage__input_tokens=120,
                gen_ai__usage__output_tokens=30,
                gen_ai__output__messages=json.dumps(
                    [
                        {
                            "role": "assistant",
                            "parts": [{"type": "text", "content": "Checking the PO."}],
                        }
                    ]
                ),
            ),
        ),
        span(
            "t1",
            "c",
            parentSpanId="a",
            name="execute_tool erp.lookup_po",
            attributes=_attrs(
                gen_ai__operation__name="execute_tool",
                gen_ai__tool__name="erp.lookup_po",
                gen_ai__tool__call__arguments=json.dumps({"po_number": "PO-4411"}),
                gen_ai__tool__call__result=json.dumps({"status": "not_found"}),
            ),
        ),
    ]
    path = tmp_path / "genai.json"
    path.write_text(document(*spans))

    (trace,) = traces(path).values()

    assert trace.session_id == "conv-9"
    root, chat, tool = trace.steps
    assert (root.type, chat.type, tool.type) == (StepType.agent, StepType.llm, StepType.tool)
    assert root.metadata["gen_ai.agent.name"] == "supervisor"
    assert "Why is invoice 88 on hold?" in json.dumps(root.input)
    assert (chat.model, chat.usage) == ("gpt-4.1", {"prompt_tokens": 120, "completion_tokens": 30})
    assert "Checking the PO." in json.dumps(chat.output)
    assert tool.name == "erp.lookup_po"
    assert (tool.input, tool.output) == ({"po_number": "PO-4411"}, {"status": "not_found"})
