"""Format detection: one registry of sniffers with confidences, large first records, a forced
format that refuses files of another format, and Phoenix span JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flywheel.config import SignalsConfig
from flywheel.formats import TraceSource, detect
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store

REAL = Path(__file__).parents[1] / "fixtures" / "real"


def _phoenix_span(span_id: str, parent: str | None, kind: str, **extra: Any) -> dict[str, Any]:
    """A span as Phoenix's client and REST API return it (its ``v1.Span`` type)."""
    return {
        "id": f"global-{span_id}",
        "name": extra.pop("name", kind.lower()),
        "context": {"trace_id": "phx-1", "span_id": span_id},
        "span_kind": kind,
        "parent_id": parent,
        "start_time": extra.pop("start_time", "2026-07-09T00:00:00+00:00"),
        "end_time": extra.pop("end_time", "2026-07-09T00:00:02+00:00"),
        "status_code": extra.pop("status_code", "OK"),
        "status_message": extra.pop("status_message", ""),
        "attributes": extra.pop("attributes", {}),
        "events": extra.pop("events", []),
    }


def _phoenix_page(path: Path) -> Path:
    page = {
        "data": [
            _phoenix_span(
                "s1",
                None,
                "AGENT",
                attributes={
                    "input.value": "Cancel my order 4127",
                    "output.value": "Your order 4127 is cancelled.",
                    "session.id": "sess-9",
                },
            ),
            _phoenix_span(
                "s2",
                "s1",
                "LLM",
                start_time="2026-07-09T00:00:00.500+00:00",
                attributes={
                    "llm.model_name": "gpt-4o-mini",
                    "llm.token_count.prompt": 120,
                    "llm.token_count.completion": 30,
                    "llm.token_count.total": 150,
                },
            ),
            _phoenix_span(
                "s3",
                "s1",
                "TOOL",
                name="cancel_order",
                start_time="2026-07-09T00:00:01+00:00",
                status_code="ERROR",
                status_message="OrderLocked: order 4127 already shipped",
            ),
        ],
        "next_cursor": None,
        "annotations": [
            {
                "span_id": "s1",
                "name": "hallucination",
                "annotator_kind": "LLM",
                "result": {"label": "hallucinated", "score": 1, "explanation": "it shipped"},
            }
        ],
    }
    path.write_text(json.dumps(page, indent=2), encoding="utf-8")
    return path


def test_phoenix_spans_are_detected_and_read(store: Store, tmp_path: Path) -> None:
    path = _phoenix_page(tmp_path / "spans.json")

    found = detect(TraceSource(path))
    counts = ingest_paths(store, [path])
    detect_failures(store, SignalsConfig())

    assert found is not None
    assert found.format.name == "phoenix"
    assert counts.files[0]["format"] == "phoenix"
    stored = store.get_trace("phx-1")
    trace = stored.trace
    assert [(s.type.value, s.parent_id) for s in trace.steps] == [
        ("agent", None),
        ("llm", "s1"),
        ("tool", "s1"),
    ]
    assert trace.steps[1].model == "gpt-4o-mini"
    assert trace.steps[1].usage == {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
    }
    assert trace.steps[2].error == "OrderLocked: order 4127 already shipped"
    assert trace.session_id == "sess-9"
    assert [(s.name, s.value) for s in trace.scores] == [("hallucination", 1.0)]
    assert stored.failing is True


def test_a_forced_format_refuses_a_file_of_another_format(store: Store, tmp_path: Path) -> None:
    path = _phoenix_page(tmp_path / "spans.json")

    counts = ingest_paths(store, [path], format="langsmith")

    assert (counts.stored, counts.quarantined) == (0, 1)
    assert "does not look like langsmith: it looks like phoenix" in counts.errors[0]["reason"]


def test_a_first_record_larger_than_the_sniffed_prefix_is_recognised(
    store: Store, tmp_path: Path
) -> None:
    # 100 KB of output before the keys that say "native": the first 64 KB alone cannot.
    big = {"output": "x" * 100_000, "trace_id": "big", "input": "hello"}
    small = {"trace_id": "small", "input": "hi"}
    path = tmp_path / "traces.jsonl"
    path.write_text(json.dumps(big) + "\n" + json.dumps(small) + "\n", encoding="utf-8")

    found = detect(TraceSource(path))
    counts = ingest_paths(store, [path])

    assert found is not None
    assert found.format.name == "native"
    assert found.prefix_bytes > 64 * 1024
    assert (counts.stored, counts.quarantined) == (2, 0)


def test_detection_says_what_it_chose_and_how_sure(tmp_path: Path) -> None:
    found = detect(TraceSource(REAL / "langfuse" / "autogen-2025-06-06.json"))
    assert found is not None
    assert found.reason.startswith("read as langfuse (confidence 1.00, from the first")

    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps([{"role": "user", "content": "hi"}]), encoding="utf-8")
    found = detect(TraceSource(chat))
    assert found is not None
    assert (found.format.name, found.confidence) == ("chat", 0.7)


def test_an_unrecognised_file_is_listed_as_skipped_with_a_reason(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "notes.json"
    path.write_text(json.dumps({"hello": "world"}), encoding="utf-8")

    counts = ingest_paths(store, [path])

    assert counts.quarantined == 1
    assert [s["file"] for s in counts.skipped] == [str(path)]
    assert "could not recognise the trace format" in counts.skipped[0]["reason"]


def test_a_forced_langsmith_read_rejects_records_that_are_not_runs(
    store: Store, tmp_path: Path
) -> None:
    # No other reader takes this file either, so --format is obeyed record by record.
    path = tmp_path / "things.jsonl"
    path.write_text(
        json.dumps({"id": "a", "name": "not a run"})
        + "\n"
        + json.dumps({"id": "b", "run_type": "llm", "inputs": {"q": "hi"}})
        + "\n",
        encoding="utf-8",
    )

    counts = ingest_paths(store, [path], format="langsmith")

    assert (counts.stored, counts.quarantined) == (1, 1)
    assert counts.errors[0]["reason"].startswith("not a LangSmith run: none of run_type")
