"""Langfuse exports: traces with observations and scores, nested or flat."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from flywheel.formats import Parsed, Rejected, TraceSource, detect_format
from flywheel.formats.langfuse import LangfuseFormat
from flywheel.ingest import ingest_paths
from flywheel.store import Store
from flywheel.trace import FeedbackKind, FeedbackSource, StepType, Trace

DATA = Path(__file__).parent / "data"
PAGE = DATA / "langfuse_traces.json"
FLAT = DATA / "langfuse_export.jsonl"
VAT = "a3f1c9e2-7b4d-4e8a-9c1f-2d3e4f5a6b7c"
EXPORT = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"
TRAVEL = "7c6b5a49-3827-4f16-9e5d-4c3b2a190817"


def read(path: Path) -> list[Parsed | Rejected]:
    return list(LangfuseFormat().read(TraceSource(path)))


def traces(path: Path) -> dict[str, Trace]:
    return {r.trace.trace_id: r.trace for r in read(path) if isinstance(r, Parsed)}


def trace_row(trace_id: object, **extra: object) -> dict[str, object]:
    return {"id": trace_id, "name": "chat", "input": "hi", "observations": [], **extra}


def test_api_page_traces_become_step_trees() -> None:
    found = traces(PAGE)
    assert list(found) == [VAT, EXPORT]
    trace = found[VAT]

    assert trace.input == {
        "messages": [{"role": "user", "content": "My invoice shows the wrong VAT number"}]
    }
    assert (trace.session_id, trace.user_id) == ("chat-5521", "cust-881")
    assert trace.latency_ms == pytest.approx(4212.0)  # Langfuse latency is in seconds
    assert trace.cost_usd == pytest.approx(0.00231)
    assert trace.timestamp is not None
    assert trace.timestamp.tzinfo is not None
    assert trace.metadata["plan"] == "pro"
    assert trace.metadata["tags"] == ["billing", "prod"]
    assert trace.metadata["release"] == "v2.3.0"
    assert [(s.id, s.parent_id, s.type) for s in trace.steps] == [
        ("obs-root-1", None, StepType.chain),
        ("obs-gen-1", "obs-root-1", StepType.llm),
        ("obs-tool-1", "obs-root-1", StepType.chain),
        ("obs-event-1", "obs-root-1", StepType.other),
    ]
    root, generation, tool, event = trace.steps
    assert root.usage is None  # all-zero usage on a span is no usage
    assert generation.model == "gpt-4o-mini"
    assert generation.usage == {
        "prompt_tokens": 210,
        "completion_tokens": 6,
        "total_tokens": 216,
        "cache_read_input_tokens": 128,
    }
    assert generation.cost_usd == pytest.approx(0.0000351)
    assert generation.metadata["promptName"] == "intent-classifier"
    assert tool.error == "ValidationError: VAT number must have 9 digits after DE"
    assert event.error is None  # a WARNING is kept, not an error
    assert event.metadata["level"] == "WARNING"
    assert trace.errors == [tool]


def test_scores_split_into_feedback_and_scores() -> None:
    found = traces(PAGE)
    trace = found[VAT]

    assert [(f.kind, f.value, f.source) for f in trace.feedback] == [
        (FeedbackKind.thumb, -1.0, FeedbackSource.user),  # user-feedback 0
        (FeedbackKind.rating, 1.0, FeedbackSource.reviewer),  # ANNOTATION boolean
    ]
    assert trace.feedback[0].comment == "It said it updated it but nothing changed"
    assert trace.feedback[1].model_extra is not None
    assert trace.feedback[1].model_extra["step_id"] == "obs-gen-1"
    assert [(s.name, s.value, s.source) for s in trace.scores] == [("faithfulness", 0.35, "eval")]
    assert trace.metadata["labels"][0]["label"] == "too-formal"
    assert [(f.kind, f.value) for f in found[EXPORT].feedback] == [(FeedbackKind.thumb, 1.0)]


def test_flat_observations_and_scores_join_their_trace() -> None:
    (trace,) = traces(FLAT).values()

    assert trace.trace_id == TRAVEL
    assert [(s.id, s.type) for s in trace.steps] == [
        ("o-ret", StepType.retriever),
        ("o-gen", StepType.llm),
    ]
    assert trace.steps[1].usage == {
        "prompt_tokens": 800,
        "completion_tokens": 20,
        "total_tokens": 820,
    }
    assert trace.cost_usd == pytest.approx(0.0002)  # no totalCost: the steps' sum
    assert [(f.kind, f.value, f.comment) for f in trace.feedback] == [
        (FeedbackKind.thumb, -1.0, "That policy is from 2019")
    ]
    assert "incomplete" not in trace.metadata


def test_observations_without_their_trace_record_still_make_a_trace(tmp_path: Path) -> None:
    path = tmp_path / "observations.jsonl"
    rows = [
        {"id": "o2", "traceId": "t9", "type": "GENERATION", "parentObservationId": "o1",
         "startTime": "2024-06-05T09:00:01Z", "input": "q", "output": "a"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))

    (trace,) = traces(path).values()
    assert trace.trace_id == "t9"
    assert trace.input == "q"
    assert trace.metadata["incomplete"] is True
    assert trace.metadata["missing_parent_ids"] == ["o1"]
    assert trace.steps[0].parent_id == "o1"


def test_a_json_array_and_a_gzip_copy_read_like_the_page(tmp_path: Path) -> None:
    array = tmp_path / "traces.json"
    array.write_text(json.dumps(json.loads(PAGE.read_text())["data"], indent=2))
    compressed = tmp_path / "traces.json.gz"
    compressed.write_bytes(gzip.compress(PAGE.read_bytes()))

    expected = [t.to_json() for t in traces(PAGE).values()]
    assert [t.to_json() for t in traces(array).values()] == expected
    assert [t.to_json() for t in traces(compressed).values()] == expected
    for path in (array, compressed):
        detected = detect_format(TraceSource(path))
        assert detected is not None
        assert detected.name == "langfuse"


def test_bad_records_are_rejected_by_line_and_field_and_good_ones_survive(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        json.dumps(trace_row("t1")),
        json.dumps(trace_row(None)),
        json.dumps(trace_row("t2", observations=[{"id": "o1", "startTime": "noon"}])),
        json.dumps(trace_row("t3"))[:-5],
        json.dumps(trace_row("t4", scores=[{"name": "thumbs", "value": {"up": True}}])),
        json.dumps(trace_row(42, observations="o1")),
        json.dumps(trace_row(7)),
    ]
    path.write_text("\n".join(lines) + "\n")

    records = read(path)
    rejected = [(r.line, r.field) for r in records if isinstance(r, Rejected)]
    assert rejected == [
        (2, "id"),
        (3, "observations[0].startTime"),
        (4, None),  # truncated JSON
        (5, "scores[0].value"),
        (6, "observations"),
    ]
    assert sorted(traces(path)) == ["7", "t1"]


def test_a_bad_record_in_an_api_page_names_its_index(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"data": [trace_row("t1"), trace_row(""), trace_row("t3")]}))

    records = read(path)
    assert [(r.line, r.field) for r in records if isinstance(r, Rejected)] == [(1, "data[1].id")]
    assert sorted(traces(path)) == ["t1", "t3"]


def test_no_trace_format_claims_a_langfuse_file_but_langfuse() -> None:
    from flywheel.formats.langsmith import LangSmithFormat
    from flywheel.formats.otlp import OtlpFormat

    for path in (PAGE, FLAT):
        head = TraceSource(path).head()
        assert LangfuseFormat().sniff(TraceSource(path), head)
        assert not OtlpFormat().sniff(TraceSource(path), head)
        assert not LangSmithFormat().sniff(TraceSource(path), head)


def test_ingest_stores_every_trace_once(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        first = ingest_paths(store, [PAGE, FLAT])
        second = ingest_paths(store, [PAGE, FLAT])
        stored = store.get_trace(VAT, "langfuse").trace
    finally:
        store.close()
    assert (first.read, first.stored, first.quarantined) == (3, 3, 0)
    assert first.read == first.stored + first.updated + first.duplicates + first.quarantined
    assert (second.read, second.stored, second.updated, second.duplicates) == (3, 0, 0, 3)
    assert len(stored.feedback) == 2
