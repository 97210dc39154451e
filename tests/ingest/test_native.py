"""Ingesting native JSONL: counts add up, bad lines are quarantined, reruns are idempotent."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from flywheel.ingest import ingest_paths
from flywheel.store import Store
from tests.helpers.native import trace, write_lines


def test_good_traces_are_stored_with_their_steps_and_unknown_fields(
    store: Store, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "t.jsonl", [trace(1, custom_field={"kept": True}), trace(2)])
    counts = ingest_paths(store, [path])
    assert (counts.read, counts.stored, counts.quarantined) == (2, 2, 0)
    stored = store.get_trace("t-1")
    assert stored.source == "native"
    assert stored.trace.route == "direct_answer"
    assert [s.id for s in stored.trace.steps] == ["a1", "a2"]
    assert stored.trace.steps[1].parent_id == "a1"
    assert stored.trace.model_extra == {"custom_field": {"kept": True}}
    assert stored.trace.scores[0].name == "groundedness"


def test_mixed_file_quarantines_each_bad_line_and_counts_add_up(
    store: Store, tmp_path: Path
) -> None:
    bad_type = trace(5)
    bad_type["trace_id"] = 12345
    no_input = trace(6)
    del no_input["input"]
    no_id = trace(7)
    del no_id["trace_id"]
    bad_latency = trace(8, latency_ms="slow")
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            trace(1),
            '{"trace_id": "t-cut", "input": "trunc',  # line 2: truncated
            "this is not json",  # line 3
            bad_type,  # line 4
            no_input,  # line 5
            "",  # line 6: blank lines are skipped, not records
            no_id,  # line 7
            b'{"trace_id": "t-bin", "input": "caf\xe9"}',  # line 8: Latin-1, not UTF-8
            bad_latency,  # line 9
            "[1, 2, 3]",  # line 10
            trace(2),
        ],
    )
    counts = ingest_paths(store, [path])
    assert counts.read == 10
    assert counts.stored == 3  # the unusable latency is dropped, its trace kept
    assert counts.quarantined == 7
    assert counts.read == counts.stored + counts.updated + counts.duplicates + counts.quarantined
    by_line = {e["line"]: e for e in counts.errors}
    assert set(by_line) == {2, 3, 4, 5, 7, 8, 10}
    assert all(e["file"] == str(path) for e in counts.errors)
    assert "invalid JSON" in by_line[2]["reason"]
    assert by_line[4]["field"] == "trace_id"
    assert by_line[5]["field"] == "input"
    assert by_line[7]["field"] == "trace_id"
    assert "UTF-8" in by_line[8]["reason"]
    assert [(w["line"], w["trace_id"]) for w in counts.trace_warnings] == [(9, "t-8")]
    assert "'latency_ms' dropped: not a number (slow)" in counts.trace_warnings[0]["warning"]
    assert store.get_trace("t-8").trace.latency_ms is None
    quarantined = store.quarantined()
    assert [q.line for q in quarantined] == [2, 3, 4, 5, 7, 8, 10]
    assert quarantined[1].raw.strip() == b"this is not json"
    assert store.count_traces() == 3


def test_second_ingest_of_the_same_file_stores_nothing_new(store: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", [trace(i) for i in range(30)])
    first = ingest_paths(store, [path], batch_size=7)
    second = ingest_paths(store, [path], batch_size=7)
    assert (first.stored, first.duplicates) == (30, 0)
    assert (second.read, second.stored, second.updated, second.duplicates) == (30, 0, 0, 30)
    assert store.count_traces() == 30


def test_changed_content_updates_and_keeps_the_previous_version(
    store: Store, tmp_path: Path
) -> None:
    ingest_paths(store, [write_lines(tmp_path / "a.jsonl", [trace(1), trace(2)])])
    changed = trace(1, output="A corrected answer")
    counts = ingest_paths(store, [write_lines(tmp_path / "b.jsonl", [changed, trace(2)])])
    assert (counts.stored, counts.updated, counts.duplicates) == (0, 1, 1)
    stored = store.get_trace("t-1")
    assert stored.version == 2
    assert stored.trace.output == "A corrected answer"
    versions = store.trace_versions(stored.pk)
    assert [(v, t.output) for v, t in versions] == [(1, "Here is the summary ...")]


def test_duplicate_ids_inside_one_file(store: Store, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "dups.jsonl",
        [trace(1), trace(1), trace(1, output="second answer"), trace(2), trace(1, output="third")],
    )
    counts = ingest_paths(store, [path])
    assert (counts.read, counts.stored, counts.duplicates, counts.updated) == (5, 2, 1, 2)
    stored = store.get_trace("t-1")
    assert (stored.version, stored.trace.output) == (3, "third")
    assert [t.output for _, t in store.trace_versions(stored.pk)] == [
        "Here is the summary ...",
        "second answer",
    ]


def test_gzip_and_truncated_gzip(store: Store, tmp_path: Path) -> None:
    body = b"".join(json.dumps(trace(i)).encode() + b"\n" for i in range(200))
    good = tmp_path / "good.jsonl.gz"
    good.write_bytes(gzip.compress(body))
    assert ingest_paths(store, [good]).stored == 200

    data = gzip.compress(b"".join(json.dumps(trace(i)).encode() + b"\n" for i in range(1000, 3000)))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    counts = ingest_paths(store, [cut])
    assert counts.stored > 0
    assert counts.read == counts.stored + counts.quarantined
    assert any("cut short" in e["reason"] for e in counts.errors)
    # the last partial line and the truncation itself are quarantined, nothing else
    assert 1 <= counts.quarantined <= 2


def test_huge_single_line_is_stored_or_quarantined_by_the_limit(
    store: Store, tmp_path: Path
) -> None:
    big = trace(1, output="x" * (50 * 1024 * 1024))
    path = write_lines(tmp_path / "big.jsonl", [big, trace(2)])
    counts = ingest_paths(store, [path])
    assert (counts.stored, counts.quarantined) == (2, 0)
    assert len(store.get_trace("t-1").trace.output_text) == 50 * 1024 * 1024

    small_limit = ingest_paths(store, [path], max_record_bytes=1024 * 1024)
    assert (small_limit.quarantined, small_limit.duplicates) == (1, 1)
    assert "over the limit" in small_limit.errors[0]["reason"]
    assert small_limit.errors[0]["line"] == 1


def test_empty_file_and_unknown_format_in_a_folder(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "notes.json").write_text('["just", "some", "notes"]\n')
    (folder / "README.md").write_text("not a trace file")
    write_lines(folder / "traces.jsonl", [trace(1), trace(2)])
    (folder / ".hidden.jsonl").write_text("ignored")
    counts = ingest_paths(store, [folder])
    assert (counts.read, counts.stored, counts.quarantined) == (3, 2, 1)
    reasons = {Path(e["file"]).name: e["reason"] for e in counts.errors}
    assert "empty file" in reasons["empty.jsonl"]
    assert "--format" in reasons["notes.json"]


def test_ingestion_run_records_its_counts(store: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", [trace(1), "garbage", trace(1)])
    ingest_paths(store, [path])
    run = store.ingestion_runs(limit=1)[0]
    assert run["status"] == "completed"
    assert (run["read"], run["stored"], run["duplicates"], run["quarantined"]) == (3, 1, 1, 1)
