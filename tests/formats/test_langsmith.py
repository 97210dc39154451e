"""LangSmith run exports: nested child runs and flat rows become one trace per trace id."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from flywheel.formats import Parsed, Rejected, TraceSource, detect_format
from flywheel.formats.langsmith import LangSmithFormat
from flywheel.ingest import ingest_paths
from flywheel.store import Store
from flywheel.trace import FeedbackKind, FeedbackSource, StepType, Trace

DATA = Path(__file__).parent / "data"
NESTED = DATA / "langsmith_runs.json"
FLAT = DATA / "langsmith_runs.jsonl"
EMAIL = "1b64098b-4ab7-43f6-afee-992304f198d8"
PTO = "5e0b8a14-9d0c-4b49-bb1f-6b0c2f9f3e11"
REFUND = "b1a2c3d4-0000-4000-8000-000000000001"
RECURSION = "e5f6a7b8-0000-4000-8000-000000000010"


def read(path: Path) -> list[Parsed | Rejected]:
    return list(LangSmithFormat().read(TraceSource(path)))


def traces(path: Path) -> dict[str, Trace]:
    return {r.trace.trace_id: r.trace for r in read(path) if isinstance(r, Parsed)}


def run(run_id: object, **extra: object) -> dict[str, object]:
    return {
        "id": run_id,
        "name": "Agent",
        "run_type": "chain",
        "start_time": "2024-05-30T09:00:00",
        "inputs": {"input": "hi"},
        **extra,
    }


def test_nested_child_runs_become_steps_under_the_root() -> None:
    found = traces(NESTED)
    assert list(found) == [EMAIL, PTO]
    trace = found[EMAIL]

    assert trace.input == {"input": "Draft an email to Dana about the Q3 budget"}
    assert trace.output == {"output": "Here is a draft: Hi Dana, ..."}
    assert trace.session_id == "thread-9"  # the thread, not the project (run.session_id)
    assert trace.user_id == "u-123"
    assert trace.metadata["langsmith_project_id"] == "f1e2d3c4-0000-4000-8000-000000000001"
    assert trace.timestamp is not None
    assert trace.timestamp.tzinfo is not None  # LangSmith's naive times are UTC
    assert trace.latency_ms == 3250.0
    assert trace.cost_usd == pytest.approx(0.00412)
    assert [(s.id[:8], (s.parent_id or "")[:8], s.type) for s in trace.steps] == [
        ("1b64098b", "", StepType.chain),
        ("809ed3a2", "1b64098b", StepType.llm),
        ("c8d9f4c5", "1b64098b", StepType.tool),
    ]
    root, llm, tool = trace.steps
    assert root.usage is None  # the chain's totals add up its children's
    assert llm.usage == {"prompt_tokens": 760, "completion_tokens": 52, "total_tokens": 812}
    assert llm.model == "gpt-4o-mini"
    assert tool.error == "ToolException: contacts service returned 503"
    assert trace.errors == [tool]


def test_feedback_stats_become_thumbs_and_scores() -> None:
    trace = traces(NESTED)[EMAIL]

    assert [(f.kind, f.value, f.source) for f in trace.feedback] == [
        (FeedbackKind.thumb, -1.0, FeedbackSource.user)
    ]
    assert [(s.name, s.value) for s in trace.scores] == [("correctness", 0.4), ("tool_ok", 0.0)]
    assert trace.scores[1].model_extra is not None
    assert trace.scores[1].model_extra["step_id"] == "c8d9f4c5-6c5a-4b2d-9b1c-3d9d7a7c5c7c"


def test_a_feedback_list_wins_over_the_stats_of_the_same_key() -> None:
    trace = traces(NESTED)[PTO]

    assert trace.session_id == "conv-77"
    assert len(trace.feedback) == 1
    thumb = trace.feedback[0]
    assert (thumb.kind, thumb.value, thumb.comment) == (FeedbackKind.thumb, 1.0, "spot on")
    assert thumb.timestamp is not None
    assert thumb.timestamp.tzinfo is not None
    assert [(s.name, s.value, s.source) for s in trace.scores] == [("groundedness", 0.9, "model")]
    # a prompt run formats a template: not counted as a model call
    assert [s.type for s in trace.steps] == [StepType.chain, StepType.retriever, StepType.chain]


def test_flat_rows_are_grouped_by_trace_id_whatever_their_order() -> None:
    found = traces(FLAT)
    assert sorted(found) == sorted([REFUND, RECURSION])
    refund = found[REFUND]

    assert [(s.id, s.parent_id, s.type) for s in refund.steps] == [
        (REFUND, None, StepType.chain),
        ("b1a2c3d4-0000-4000-8000-000000000002", REFUND, StepType.llm),
    ]
    assert refund.session_id == "s-100"
    assert refund.steps[1].model == "claude-3-5-sonnet"
    assert [(f.kind, f.value) for f in refund.feedback] == [(FeedbackKind.thumb, 1.0)]
    assert found[RECURSION].steps[0].error == "GraphRecursionError: Recursion limit of 25 reached"
    assert found[RECURSION].output is None


def test_a_child_whose_root_is_missing_still_makes_a_trace(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    child = run("c1", run_type="llm", parent_run_id="r0", inputs={"messages": []})
    grandchild = run("c2", run_type="tool", parent_run_id="c1", name="search")
    path.write_text(f"{json.dumps(child)}\n{json.dumps(grandchild)}\n")

    (trace,) = traces(path).values()
    assert trace.trace_id == "r0"
    assert trace.metadata["incomplete"] is True
    assert trace.metadata["missing_parent_ids"] == ["r0"]
    assert [(s.id, s.parent_id) for s in trace.steps] == [("c1", "r0"), ("c2", "c1")]


def test_runs_api_page_and_gzip_read_like_the_plain_file(tmp_path: Path) -> None:
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"runs": json.loads(NESTED.read_text()), "cursors": {}}))
    compressed = tmp_path / "runs.json.gz"
    compressed.write_bytes(gzip.compress(NESTED.read_bytes()))

    expected = [t.to_json() for t in traces(NESTED).values()]
    assert [t.to_json() for t in traces(page).values()] == expected
    assert [t.to_json() for t in traces(compressed).values()] == expected
    for path in (page, compressed):
        detected = detect_format(TraceSource(path))
        assert detected is not None
        assert detected.name == "langsmith"


def test_bad_runs_are_rejected_by_line_and_field_and_good_ones_survive(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        json.dumps(run("r1")),
        json.dumps(run(None)),
        json.dumps(run("r2", child_runs=[run("c1"), run(["x"])])),
        json.dumps(run("r3", start_time="last tuesday")),
        json.dumps(run("r4"))[:-10],
        json.dumps(["not", "a", "run"]),
        json.dumps(run(12345, trace_id=12345)),
    ]
    path.write_text("\n".join(lines) + "\n")

    records = read(path)
    rejected = [(r.line, r.field) for r in records if isinstance(r, Rejected)]
    assert rejected == [
        (2, "id"),
        (3, "child_runs[1].id"),
        (4, "start_time"),
        (5, None),  # truncated JSON
        (6, "run"),
    ]
    assert sorted(traces(path)) == ["12345", "r1"]  # numeric ids become strings


def test_no_trace_format_claims_a_langsmith_file_but_langsmith() -> None:
    from flywheel.formats.langfuse import LangfuseFormat
    from flywheel.formats.otlp import OtlpFormat

    for path in (NESTED, FLAT):
        head = TraceSource(path).head()
        assert LangSmithFormat().sniff(TraceSource(path), head)
        assert not OtlpFormat().sniff(TraceSource(path), head)
        assert not LangfuseFormat().sniff(TraceSource(path), head)


def test_ingest_stores_every_trace_once(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        first = ingest_paths(store, [NESTED, FLAT])
        second = ingest_paths(store, [NESTED, FLAT])
        stored = store.get_trace(EMAIL, "langsmith").trace
    finally:
        store.close()
    assert (first.read, first.stored, first.quarantined) == (4, 4, 0)
    assert first.read == first.stored + first.updated + first.duplicates + first.quarantined
    assert (second.read, second.stored, second.updated, second.duplicates) == (4, 0, 0, 4)
    assert len(stored.steps) == 3
