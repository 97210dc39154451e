"""Poison records: a record that was stored can never crash a later stage.

Probe: ``{"trace_id":"t1","input":"hi","scores":[{"name":"q","value":"NaN"}]}`` was stored
(NaN became JSON null), then detection, and every later ingest, signals and nightly, crashed
with ``scores.0.value Input should be a valid number``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from flywheel.config import SignalsConfig
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.store._codec import encode_payload
from flywheel.store._tables import IngestionRun, TraceRow
from tests.helpers.native import trace, write_lines

PROBE = '{"trace_id":"t1","input":"hi","scores":[{"name":"q","value":"NaN"}]}'


def _adds_up(store: Store) -> None:
    for run in store.ingestion_runs(limit=100):
        parts = run["stored"] + run["updated"] + run["duplicates"] + run["quarantined"]
        assert run["read"] == parts, run


def test_the_probe_keeps_the_trace_drops_the_score_and_detection_runs(
    store: Store, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "probe.jsonl", [PROBE, trace(2)])
    counts = ingest_paths(store, [path])
    assert (counts.read, counts.stored, counts.quarantined) == (2, 2, 0)
    assert counts.trace_warnings == [
        {
            "file": str(path),
            "line": 1,
            "trace_id": "t1",
            "warning": "field 'scores.0.value (q)' dropped: not a finite number (NaN or "
            "infinity) (NaN)",
        }
    ]
    report = detect_failures(store, SignalsConfig())
    assert report.evaluated == 2
    stored = store.get_trace("t1").trace
    assert stored.scores == []
    assert [d.model_dump() for d in stored.dropped or ()] == [
        {
            "field": "scores.0.value (q)",
            "value": "NaN",
            "reason": "not a finite number (NaN or infinity)",
        }
    ]
    # Every later stage goes on: the same file again, then detection again.
    again = ingest_paths(store, [path])
    assert (again.duplicates, again.trace_warnings) == (2, [])
    assert detect_failures(store, SignalsConfig(), recompute=True).evaluated == 2
    _adds_up(store)


@pytest.mark.parametrize(
    ("field", "record"),
    [
        ("scores.0.value (q)", {"scores": [{"name": "q", "value": "Infinity"}]}),
        ("scores.0.value (q)", {"scores": {"q": "-Infinity"}}),
        ("scores.0.value (q)", {"scores": [{"name": "q", "value": None}]}),
        ("scores.0.value (q)", {"scores": [{"name": "q", "value": "1e400"}]}),
        ("feedback.0.value", {"feedback": [{"kind": "rating", "value": "NaN", "scale": 5}]}),
        ("feedback.0.scale", {"feedback": [{"kind": "rating", "value": 2, "scale": "nan"}]}),
        ("latency_ms", {"latency_ms": "NaN"}),
        ("latency_ms", {"latency_ms": -5}),
        ("cost_usd", {"cost_usd": "inf"}),
        ("steps.0.latency_ms", {"steps": [{"id": "s", "latency_ms": "Infinity"}]}),
        ("steps.0.cost_usd", {"steps": [{"id": "s", "cost_usd": -0.1}]}),
        (
            "steps.0.usage.prompt_tokens",
            {"steps": [{"id": "s", "usage": {"prompt_tokens": "NaN"}}]},
        ),
        ("steps.0.usage.details", {"steps": [{"id": "s", "usage": {"details": {"cached": 3}}}]}),
    ],
)
def test_an_unusable_measurement_is_dropped_and_noted_not_the_trace(
    store: Store, tmp_path: Path, field: str, record: dict[str, Any]
) -> None:
    line = json.dumps({"trace_id": "t1", "input": "hi", **record})
    counts = ingest_paths(store, [write_lines(tmp_path / "m.jsonl", [line])])
    assert (counts.stored, counts.quarantined) == (1, 0)
    assert [w["warning"].split("'")[1] for w in counts.trace_warnings] == [field]
    assert detect_failures(store, SignalsConfig()).evaluated == 1
    dropped = store.get_trace("t1").trace.dropped or []
    assert [d.field for d in dropped] == [field]


def test_nan_in_a_json_document_is_dropped_too(store: Store, tmp_path: Path) -> None:
    """A LangSmith export is a JSON document, read by Python's json, which accepts bare NaN."""
    path = tmp_path / "runs.json"
    path.write_text(
        '[{"id": "r1", "trace_id": "r1", "name": "ChatOpenAI", "run_type": "llm",\n'
        '  "start_time": "2026-11-16T09:00:00", "end_time": "2026-11-16T09:00:01",\n'
        '  "inputs": {"input": "hi"}, "outputs": {"output": "hello"}, "total_cost": NaN,\n'
        '  "feedback_stats": {"correctness": {"n": 1, "avg": NaN}},\n'
        '  "extra": {"metadata": {"x": Infinity}}}]'
    )
    counts = ingest_paths(store, [path], format="langsmith")
    assert (counts.read, counts.stored, counts.quarantined) == (1, 1, 0)
    assert detect_failures(store, SignalsConfig()).evaluated == 1
    stored = store.get_trace("r1").trace
    assert stored.dropped, "the NaN values are noted where they were dropped"


def test_a_record_that_would_not_read_back_is_quarantined_on_write(
    store: Store, tmp_path: Path
) -> None:
    """One rule: only a payload that validates again is stored. JSON nested 200 deep is
    written by orjson but refused by the JSON parser every later stage reads with."""
    deep: Any = "leaf"
    for _ in range(220):
        deep = [deep]
    deeper: Any = "leaf"
    for _ in range(400):
        deeper = [deeper]
    lines: list[str | bytes | dict[str, Any]] = [
        json.dumps({"trace_id": "deep", "input": {"q": deep}}),
        json.dumps({"trace_id": "deeper", "input": {"q": deeper}}),
        json.dumps(trace(1)),
    ]
    counts = ingest_paths(store, [write_lines(tmp_path / "d.jsonl", lines)])
    assert (counts.read, counts.stored, counts.quarantined) == (3, 1, 2)
    reasons = {e["line"]: e["reason"] for e in counts.errors}
    assert "would not read back once stored" in reasons[1]
    assert "cannot be stored as JSON" in reasons[2]
    assert detect_failures(store, SignalsConfig()).evaluated == 1


def test_a_document_nested_too_deep_for_python_is_quarantined(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(
        '[{"id": "r1", "trace_id": "r1", "name": "x", "run_type": "chain", "inputs": {}},'
        + "[" * 5000
        + "]" * 5000
        + "]"
    )
    counts = ingest_paths(store, [path], format="langsmith")
    assert (counts.read, counts.stored, counts.quarantined) == (2, 1, 1)
    assert "nested too deeply" in counts.errors[0]["reason"]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"trace_id": "x" * 513, "input": "hi"}, "trace_id"),
        ({"trace_id": "t\x00", "input": "hi"}, "trace_id"),
        ({"trace_id": "t", "session_id": "", "input": "hi"}, "session_id"),
        ({"trace_id": "t", "input": "hi", "steps": [{"id": "s" * 513}]}, "steps.0.id"),
        ({"trace_id": 7, "input": "hi"}, "trace_id"),
    ],
)
def test_ids_the_columns_cannot_hold_are_quarantined_with_their_field(
    store: Store, tmp_path: Path, record: dict[str, Any], field: str
) -> None:
    counts = ingest_paths(store, [write_lines(tmp_path / "ids.jsonl", [record])])
    assert (counts.stored, counts.quarantined) == (0, 1)
    assert counts.errors[0]["field"] == field


def test_text_columns_hold_no_nul_and_a_huge_route_is_cut(store: Store, tmp_path: Path) -> None:
    record = {
        "trace_id": "t",
        "input": "a\x00b" * 10,
        "metadata": {"route": "r" * 10_000},
    }
    counts = ingest_paths(store, [write_lines(tmp_path / "nul.jsonl", [record])])
    assert counts.stored == 1
    [row] = store.list_traces()
    assert "\x00" not in row.input_preview
    assert row.route is not None
    assert len(row.route) == 200
    assert store.get_trace("t").trace.input == "a\x00b" * 10  # the payload keeps it all


def test_a_poisoned_row_already_in_the_database_is_quarantined_and_detection_goes_on(
    store: Store, tmp_path: Path
) -> None:
    """Databases written before the rule: the probe's row (score null) reads back with the
    score dropped; a row that cannot be read at all moves to the quarantine, named."""
    ingest_paths(store, [write_lines(tmp_path / "good.jsonl", [trace(1), trace(2)])])
    run_id = store.start_run(["legacy.jsonl"])
    legacy = {
        "nan": b'{"trace_id":"nan","input":"hi","scores":[{"name":"q","value":null}]}',
        "broken": b'{"trace_id":"broken","input":"hi","steps":[{"id":""}]}',
        "garbage": b"not json at all",
    }
    with store.engine.begin() as conn:
        for trace_id, payload in legacy.items():
            conn.execute(
                insert(TraceRow).values(
                    source="native",
                    trace_id=trace_id,
                    content_hash="0" * 32,
                    payload=encode_payload(payload),
                    ingestion_run_id=run_id,
                )
            )
        conn.execute(
            IngestionRun.__table__.update()  # type: ignore[attr-defined]
            .where(IngestionRun.id == run_id)
            .values(read=3, stored=3)
        )
    store.finish_run(run_id, "completed")

    report = detect_failures(store, SignalsConfig())
    assert (report.evaluated, report.quarantined) == (3, 2)
    assert store.get_trace("nan").trace.scores == []
    with store.engine.connect() as conn:
        left = set(conn.execute(select(TraceRow.trace_id)).scalars())
    assert left == {"t-1", "t-2", "nan"}
    found = {q.file: q for q in store.quarantined()}
    assert found["stored trace native/broken"].field == "steps.0.id"
    assert found["stored trace native/broken"].raw == legacy["broken"]
    assert "Invalid JSON" in found["stored trace native/garbage"].reason
    legacy_run = next(r for r in store.ingestion_runs() if r["id"] == run_id)
    assert (legacy_run["stored"], legacy_run["quarantined"]) == (1, 2)
    _adds_up(store)
    # ... and nothing is left to trip over.
    assert detect_failures(store, SignalsConfig(), recompute=True).quarantined == 0
    assert len(list(store.iter_traces())) == 3
