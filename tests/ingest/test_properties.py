"""Property-based tests (Hypothesis) over the ingest readers and the trace model.

Arbitrary JSON, and real exports of every format with any part replaced by arbitrary JSON,
never crash a stage (ingest, then detect failure signals), every stored trace reads back
as what was stored, and the counts always add up: read = stored + updated + duplicates +
quarantined.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from flywheel.config import SignalsConfig
from flywheel.formats import Parsed, Rejected
from flywheel.ingest import ingest_paths
from flywheel.signals import combine, derive_signals, detect_failures
from flywheel.store import Store, prepare_trace
from flywheel.store._codec import decode_payload, decode_trace
from flywheel.trace import Trace, drop_unusable_numbers
from flywheel.trace._measurements import all_usable, drop_carefully
from tests.helpers.native import trace

DATA = Path(__file__).resolve().parents[1] / "formats" / "data"

#: Names the readers look for, so that arbitrary objects often look like real records.
KEYS = [
    "trace_id",
    "input",
    "output",
    "session_id",
    "user_id",
    "timestamp",
    "latency_ms",
    "cost_usd",
    "steps",
    "feedback",
    "scores",
    "metadata",
    "id",
    "parent_id",
    "type",
    "name",
    "error",
    "start_time",
    "usage",
    "value",
    "kind",
    "scale",
    "source",
    "comment",
    "model",
    "route",
    "messages",
    "role",
    "content",
    "tool_calls",
    "traceId",
    "spanId",
    "parentSpanId",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "attributes",
    "stringValue",
    "intValue",
    "doubleValue",
    "resourceSpans",
    "scopeSpans",
    "spans",
    "run_type",
    "inputs",
    "outputs",
    "child_runs",
    "start_time",
    "end_time",
    "total_cost",
    "feedback_stats",
    "observations",
    "sessionId",
    "dotted_order",
    "reward",
    "task_id",
    "traj",
    "info",
]

ODD_TEXT = st.sampled_from(
    [
        "NaN",
        "-Infinity",
        "1e400",
        "-1",
        "",
        "\x00",
        "9999-12-31T23:59:59.999999Z",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:00:00-05:00",
        "1970-01-01T00:00:00Z",
        "x" * 600,
        "<script>alert(1)</script>",
        "../../etc/passwd",
    ]
)
ODD_NUMBERS = st.sampled_from(
    [float("nan"), float("inf"), -float("inf"), -1, 0, 2**64, -(2**63) - 1, 1e308, 1e-320]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | ODD_TEXT
    | ODD_NUMBERS
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=16,
)


def _either(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value, one time in eight an odd one or anything at all."""
    odd = st.one_of(ODD_NUMBERS, ODD_TEXT, JSON)
    return st.integers(0, 7).flatmap(lambda roll: odd if roll == 0 else valid)


NUMBERS = st.floats(min_value=0, max_value=1e6) | st.integers(0, 10_000)
TIMESTAMPS = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
IDS = st.text(min_size=1, max_size=8) | st.sampled_from(["t-1", "t-2", "s-1"])
STEPS = st.fixed_dictionaries(
    {"id": _either(IDS)},
    optional={
        "type": _either(st.sampled_from(["llm", "tool", "router", "retriever", "span"])),
        "name": _either(st.text(max_size=8)),
        "parent_id": _either(IDS),
        "error": _either(st.text(max_size=8)),
        "output": _either(st.fixed_dictionaries({"route": _either(st.text(max_size=8))})),
        "start_time": _either(TIMESTAMPS),
        "latency_ms": _either(NUMBERS),
        "cost_usd": _either(NUMBERS),
        "usage": _either(st.dictionaries(st.sampled_from(["prompt", "total"]), _either(NUMBERS))),
    },
)
FEEDBACK = st.fixed_dictionaries(
    {"kind": _either(st.sampled_from(["thumb", "rating", "comment", "correction"]))},
    optional={
        "value": _either(st.sampled_from([1, -1, 0.5, 3])),
        "scale": _either(st.sampled_from([1, 5, 10])),
        "comment": _either(st.text(max_size=20) | st.just("this is wrong")),
        "source": _either(st.sampled_from(["user", "reviewer", "system"])),
        "timestamp": _either(TIMESTAMPS),
    },
)
SCORES = st.dictionaries(st.text(min_size=1, max_size=5), _either(NUMBERS), max_size=3) | st.lists(
    st.fixed_dictionaries(
        {"name": _either(st.text(min_size=1, max_size=5)), "value": _either(NUMBERS)}
    ),
    max_size=3,
)
#: Native trace records, every field valid or odd: the generator a poison record comes from.
TRACES = st.fixed_dictionaries(
    {"trace_id": _either(IDS), "input": _either(st.text(max_size=30))},
    optional={
        "output": _either(st.text(max_size=30)),
        "session_id": _either(IDS),
        "user_id": _either(IDS),
        "timestamp": _either(TIMESTAMPS),
        "latency_ms": _either(NUMBERS),
        "cost_usd": _either(NUMBERS),
        "steps": st.lists(STEPS, max_size=3),
        "feedback": st.lists(FEEDBACK, max_size=2),
        "scores": _either(SCORES),
        "metadata": _either(st.dictionaries(st.sampled_from(KEYS), JSON, max_size=3)),
        "dropped": JSON,
    },
)


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with one to three parts replaced by arbitrary JSON (or removed)."""
    for _ in range(draw(st.integers(1, 3))):
        value = draw(_mutated_once(value, depth))
    return value


@st.composite
def _mutated_once(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    if depth > 12 or draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        out = dict(value)
        if draw(st.integers(0, 6)) == 0:
            del out[key]
        else:
            out[key] = draw(_mutated_once(value[key], depth + 1))
        return out
    if isinstance(value, list) and value:
        i = draw(st.integers(0, len(value) - 1))
        return [*value[:i], draw(_mutated_once(value[i], depth + 1)), *value[i + 1 :]]
    return draw(JSON)


def _first_record(name: str) -> Any:
    text = (DATA / name).read_text(encoding="utf-8")
    if name.endswith(".jsonl"):
        return json.loads(text.splitlines()[0])
    document = json.loads(text)
    return document[0] if isinstance(document, list) else document


#: (format, a real record of it, whether its files are JSON documents rather than JSONL)
TEMPLATES: list[tuple[str, Any, bool]] = [
    ("native", trace(1), False),
    ("otlp", _first_record("otlp_spans.jsonl"), False),
    ("langsmith", _first_record("langsmith_runs.json"), True),
    ("langsmith", _first_record("langsmith_runs.jsonl"), False),
    ("langfuse", _first_record("langfuse_export.jsonl"), False),
    ("chat", _first_record("chat_openai.jsonl"), False),
    ("taubench", _first_record("tau_runs.json"), True),
]


@st.composite
def export_files(draw: st.DrawFn) -> tuple[str, bool, list[Any]]:
    """A format, whether it is a JSON document, and its records: mutated real ones, kept
    ones and arbitrary JSON, in any order."""
    fmt, template, document = draw(st.sampled_from(TEMPLATES))
    record = st.one_of(mutated(template), st.just(template), JSON)
    if fmt == "native":
        record = st.one_of(TRACES, TRACES, record)
    records = draw(st.lists(record, min_size=1, max_size=6))
    return fmt, document, records


def _write(path: Path, records: list[Any], document: bool) -> Path:
    # json.dumps writes NaN and Infinity as bare words, as Python producers do.
    if document:
        path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    else:
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def _assert_adds_up(counts: Any) -> None:
    parts = counts.stored + counts.updated + counts.duplicates + counts.quarantined
    assert counts.read == parts, counts


@settings(max_examples=500, deadline=None)
@given(TRACES | mutated(trace(1)))
@pytest.mark.slow
def test_a_trace_either_is_rejected_or_reads_back_exactly(data: Any) -> None:
    """The model and the write rule: whatever validates and is prepared for storage reads
    back, hashes the same when stored again, and has its signals derived without error."""
    if not isinstance(data, dict):
        return
    try:
        parsed = Trace.model_validate(data)
    except ValidationError:
        return
    prepared = prepare_trace(Parsed(parsed, "f.jsonl", 1))
    if isinstance(prepared, Rejected):
        assert prepared.reason
        return
    payload = decode_payload(prepared.columns["payload"])
    again = decode_trace(prepared.columns["payload"])
    assert again.to_json() == payload
    config = SignalsConfig()
    score, _ = combine(derive_signals(again, config=config), config)
    assert 0.0 <= score <= 1.0


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(export=export_files(), auto=st.booleans())
def test_any_export_ingests_and_detects_without_crashing_and_counts_add_up(
    store: Store, tmp_path: Path, export: tuple[str, bool, list[Any]], auto: bool
) -> None:
    fmt, document, records = export
    path = _write(tmp_path / ("export.json" if document else "export.jsonl"), records, document)
    counts = ingest_paths(store, [path], format="auto" if auto else fmt)
    _assert_adds_up(counts)
    for error in counts.errors:
        assert error["file"] == str(path)
        assert error["reason"]
    report = detect_failures(store, SignalsConfig())
    assert report.quarantined == 0  # nothing stored fails to read back
    assert store.count_traces_unevaluated() == 0
    for run in store.ingestion_runs(limit=1000):
        parts = run["stored"] + run["updated"] + run["duplicates"] + run["quarantined"]
        assert run["read"] == parts
    # Every stored trace reads back (the readers of later stages would crash otherwise).
    assert len(list(store.iter_traces())) == store.count_traces()


@settings(max_examples=300, deadline=None)
@given(TRACES | mutated(trace(1)))
def test_the_no_copy_path_of_dropping_numbers_agrees_with_the_careful_one(data: Any) -> None:
    """Ingest speed rests on skipping the copy when every measurement is a plain finite
    number; whatever it skips, the careful path would have left unchanged."""
    if not isinstance(data, dict):
        return
    careful = drop_carefully(data)
    assert drop_unusable_numbers(data) == careful
    if all_usable(data):
        # Left as it came (compared by identity too: a producer's own "dropped" may be NaN).
        assert "dropped" not in careful or [careful["dropped"]] == [data.get("dropped")]
