"""The bulk insert of new traces writes exactly what SQLAlchemy's own insert writes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, text

from flywheel.ingest import ingest_paths
from flywheel.store import Store
from flywheel.store._ingest import insert_rows
from flywheel.store._tables import TraceRow
from tests.helpers.native import trace, write_lines


def _row(trace_id: str, run_id: int) -> dict[str, Any]:
    return {
        "session_id": None,
        "timestamp": datetime(2026, 11, 16, 9, 30, 1, 250, tzinfo=UTC),
        "timestamp_flag": None,
        "input_preview": "Résumé\u2028 of the renewal",
        "route": "search",
        "latency_ms": 12.5,
        "cost_usd": None,
        "tool_calls": 2,
        "error_count": 0,
        "payload": b"j{}",
        "source": "native",
        "trace_id": trace_id,
        "content_hash": "0" * 32,
        "version": 1,
        "ingestion_run_id": run_id,
        "ingested_at": datetime(2026, 11, 17, 0, 0, tzinfo=UTC),
        "failing": False,
        "failure_score": None,
    }


def _raw_rows(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM traces ORDER BY trace_id"))
        return [tuple(v for key, v in row._mapping.items() if key != "id") for row in result]


def test_rows_written_by_the_bulk_insert_equal_sqlalchemys(store: Store) -> None:
    """Dates, booleans, NULLs and text are stored byte for byte as SQLAlchemy stores them,
    so every later query (this week's traces, failing ones) reads them the same way."""
    run_id = store.start_run(["x"])
    with store.engine.begin() as conn:
        conn.execute(insert(TraceRow), [_row("a", run_id)])
    by_sqlalchemy = _raw_rows(store)
    with store.engine.begin() as conn:
        conn.execute(delete(TraceRow))
        insert_rows(conn, TraceRow.__table__, [_row("a", run_id)])
    assert _raw_rows(store) == by_sqlalchemy


def test_traces_ingested_in_bulk_read_back_with_their_columns(store: Store, tmp_path: Path) -> None:
    lines: list[bytes | str | dict[str, Any]] = [
        trace(i, timestamp=f"2026-11-16T09:{i:02d}:00+02:00") for i in range(1, 4)
    ]
    counts = ingest_paths(store, [write_lines(tmp_path / "t.jsonl", lines)])
    assert counts.stored == 3
    (summary,) = [s for s in store.list_traces(limit=10) if s.trace_id == "t-2"]
    assert summary.timestamp is not None
    assert summary.timestamp.replace(tzinfo=UTC) == datetime(2026, 11, 16, 7, 2, tzinfo=UTC)
    assert summary.route == "direct_answer"


def test_small_files_share_a_write_and_a_changed_repeat_becomes_a_new_version(
    store: Store, tmp_path: Path
) -> None:
    """Small files' batches are written together; a trace that comes again, changed, in a
    later file of the same run is still stored as its second version, in file order."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    for i in range(1, 6):
        write_lines(folder / f"{i}.jsonl", [trace(i)])
    write_lines(folder / "6.jsonl", [trace(2, output="changed"), trace(3)])
    counts = ingest_paths(store, [folder])
    assert (counts.read, counts.stored, counts.updated, counts.duplicates) == (7, 5, 1, 1)
    assert store.get_trace("t-2").version == 2
    assert store.get_trace("t-2").trace.output == "changed"
    (run,) = store.ingestion_runs(limit=1)
    assert (run["read"], run["stored"], run["updated"], run["duplicates"]) == (7, 5, 1, 1)
