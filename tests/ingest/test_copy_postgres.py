"""On PostgreSQL, new traces are written with COPY, and what COPY stores is exactly what
SQLAlchemy's INSERT stores: every later stage reads the same rows whichever path wrote them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, text

from flywheel.ingest import ingest_paths
from flywheel.store import Store
from flywheel.store import _ingest as store_ingest
from flywheel.store._ingest import copy_rows
from flywheel.store._tables import TraceRow
from tests.conftest import _postgres_database
from tests.helpers.native import trace, write_lines

pytestmark = pytest.mark.postgres

AWKWARD = [
    "tab\there, newline\nthere, carriage\rreturn",
    "backslash \\ and \\N and \\\\N, a lone \\",
    "Résumé\u2028 of the renewal, 日本語, emoji \U0001f600",
    "",
]


@pytest.fixture
def pg_store() -> Iterator[Store]:
    for url in _postgres_database():
        opened = Store.open(url)
        yield opened
        opened.close()


def _row(i: int, run_id: int) -> dict[str, Any]:
    return {
        "session_id": None if i % 2 else f"s-{i}\t{AWKWARD[i % len(AWKWARD)]}",
        "timestamp": None
        if i == 3
        else datetime(2026, 11, 16, 9, 30, 1, 250 + i, tzinfo=timezone(timedelta(hours=i - 4))),
        "timestamp_flag": "flagged \\ twice" if i == 3 else None,
        "input_preview": AWKWARD[i % len(AWKWARD)],
        "route": None if i == 2 else "search",
        "latency_ms": [12.5, 0.0, -1e-300, 1.7976931348623157e308][i % 4],
        "cost_usd": None if i % 3 else 0.1 + 0.2,
        "tool_calls": i,
        "error_count": 2**31 - 1 if i == 1 else 0,
        "payload": bytes(range(256)) * (i + 1),
        "source": "native",
        "trace_id": f"t-{i}",
        "content_hash": f"{i:032d}",
        "version": 1,
        "ingestion_run_id": run_id,
        "ingested_at": datetime(2026, 11, 17, 0, 0, i, tzinfo=UTC),
        "failing": [None, True, False][i % 3],
        "failure_score": None if i % 2 else 0.75,
    }


def _raw_rows(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM traces ORDER BY trace_id"))
        return [tuple(v for key, v in row._mapping.items() if key != "id") for row in result]


@pytest.mark.parametrize("naive", [False, True])
def test_copy_stores_awkward_values_exactly_as_insert_does(pg_store: Store, naive: bool) -> None:
    """Binary COPY when every datetime has an offset, text COPY when one has none (read in
    the session's time zone, as the insert reads it); the session here is not in UTC."""
    run_id = pg_store.start_run(["x"])
    rows = [_row(i, run_id) for i in range(8)]
    if naive:
        rows[5]["timestamp"] = datetime(2026, 11, 16, 9, 30)
    with pg_store.engine.begin() as conn:
        conn.execute(text("SET LOCAL TIME ZONE 'Asia/Kolkata'"))
        conn.execute(insert(TraceRow), rows)
    by_insert = _raw_rows(pg_store)
    with pg_store.engine.begin() as conn:
        conn.execute(delete(TraceRow))
        conn.execute(text("SET LOCAL TIME ZONE 'Asia/Kolkata'"))
        copy_rows(conn, TraceRow.__table__, rows)
    assert _raw_rows(pg_store) == by_insert
    assert len(by_insert) == 8


def test_a_failed_batch_takes_its_copied_rows_with_it(pg_store: Store) -> None:
    run_id = pg_store.start_run(["x"])

    def batch() -> None:
        with pg_store.engine.begin() as conn:
            copy_rows(conn, TraceRow.__table__, [_row(i, run_id) for i in range(3)])
            raise RuntimeError("the batch failed after its COPY")

    with pytest.raises(RuntimeError):
        batch()
    assert _raw_rows(pg_store) == []


def test_an_ingest_through_copy_stores_what_the_insert_path_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[bytes | str | dict[str, Any]] = [
        trace(i, timestamp=f"2026-11-16T09:{i:02d}:00+02:00", output=AWKWARD[i % len(AWKWARD)])
        for i in range(1, 40)
    ]
    path = write_lines(tmp_path / "t.jsonl", lines)
    stored: list[list[tuple[Any, ...]]] = []
    for use_copy in (True, False):
        if not use_copy:

            def plain(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
                conn.execute(insert(table), rows)

            monkeypatch.setattr(store_ingest, "copy_rows", plain)
        for url in _postgres_database():
            store = Store.open(url)
            try:
                assert ingest_paths(store, [path]).stored == 39
                with store.engine.connect() as conn:
                    result = conn.execute(text("SELECT * FROM traces ORDER BY id"))
                    stored.append(
                        [
                            tuple(v for k, v in row._mapping.items() if k != "ingested_at")
                            for row in result
                        ]
                    )
            finally:
                store.close()
    assert stored[0] == stored[1]
    assert len(stored[0]) == 39
