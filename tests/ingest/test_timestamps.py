"""Timestamps far from the ingest time are kept but flagged, and never move "this week".

Probe: a trace stamped ``9999-12-31T23:59:59.999999Z`` was accepted; This week and Clusters
then raised OverflowError for every user, and any future timestamp moved "this week" into
the future.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, insert, select, text
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.config import SignalsConfig
from flywheel.ingest import ingest_paths
from flywheel.project import Project
from flywheel.signals import detect_failures
from flywheel.store import Store, TimestampWindow
from flywheel.store._codec import encode_payload
from flywheel.store._db import MIGRATIONS
from flywheel.store._tables import TraceRow
from tests.helpers.native import write_lines
from ui._queries import cluster_lines, reference_end, week_overview

FAR_FUTURE = "9999-12-31T23:59:59.999999Z"


def _record(trace_id: str, stamp: str) -> str:
    return json.dumps({"trace_id": trace_id, "input": f"request {trace_id}", "timestamp": stamp})


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_far_future_trace_is_kept_flagged_and_out_of_the_week(
    store: Store, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    lines: list[str | bytes | dict[str, Any]] = [
        _record("today", _iso(now - timedelta(hours=1))),
        _record("far", FAR_FUTURE),
        _record("next-month", _iso(now + timedelta(days=30))),
        _record("offset-overflow", "9999-12-31T23:00:00-05:00"),
        _record("epoch-zero", "1970-01-01T00:00:00Z"),
    ]
    counts = ingest_paths(store, [write_lines(tmp_path / "t.jsonl", lines)])
    assert (counts.stored, counts.quarantined) == (5, 0)
    flagged = {w["trace_id"]: w["warning"] for w in counts.trace_warnings}
    assert set(flagged) == {"far", "next-month", "offset-overflow", "epoch-zero"}
    assert "days after the ingest time (over ingest.max_future_hours = 24)" in flagged["far"]
    assert "cannot be expressed in UTC" in flagged["offset-overflow"]
    assert "days before the ingest time (over ingest.max_past_days = 3650)" in flagged["epoch-zero"]

    # Kept: the payload has the producer's timestamp; findable: the flag says why.
    far = store.get_trace("far")
    assert far.trace.timestamp == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert far.timestamp_flag is not None
    assert "9999-12-31" in far.timestamp_flag
    assert {row.trace_id for row in store.list_traces(flagged=True)} == set(flagged)
    assert store.count_traces(flagged=True) == 4

    # Never moves the week, and every stage reading timestamps goes on.
    end = reference_end(store)
    assert end is not None
    assert end <= now + timedelta(seconds=1)
    assert week_overview(store, end).this_week.traces == 1
    cluster_lines(store, end)
    assert detect_failures(store, SignalsConfig()).evaluated == 5


def test_the_window_is_configurable(store: Store, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    path = write_lines(tmp_path / "t.jsonl", [_record("soon", _iso(now + timedelta(hours=3)))])
    wide = ingest_paths(store, [path], timestamp_window=TimestampWindow(future=timedelta(days=1)))
    assert wide.trace_warnings == []
    assert store.list_traces()[0].timestamp is not None


def test_flywheel_toml_sets_the_window_and_traces_list_finds_the_flagged(
    project: Project, tmp_path: Path
) -> None:
    toml = project.root / "flywheel.toml"
    text = toml.read_text()
    assert "max_future_hours = 24" in text
    assert "max_past_days = 3650" in text
    text = text.replace("max_future_hours = 24", "max_future_hours = 1")
    toml.write_text(text.replace("max_past_days = 3650", "max_past_days = 30"))
    now = datetime.now(UTC)
    path = write_lines(
        tmp_path / "t.jsonl",
        [
            _record("ahead", _iso(now + timedelta(hours=3))),
            _record("old", _iso(now - timedelta(days=60))),
            _record("fine", _iso(now)),
        ],
    )
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(w["trace_id"] for w in report["trace_warnings"]) == ["ahead", "old"]
    listed = runner.invoke(app, ["traces", "list", "--flagged", "--json"])
    assert sorted(t["trace_id"] for t in json.loads(listed.stdout)["traces"]) == ["ahead", "old"]
    stats = json.loads(runner.invoke(app, ["stats", "--json"]).stdout)
    assert stats["timestamps_flagged"] == 2
    toml.write_text(toml.read_text().replace("max_future_hours = 1", "max_futur_hours = 1"))
    typo = runner.invoke(app, ["stats"])
    assert typo.exit_code == 1
    assert "max_futur_hours" in typo.output


@pytest.mark.parametrize("stamp", [datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(1, 1, 1)])
def test_a_database_from_before_the_window_still_renders_its_week(
    store: Store, stamp: datetime
) -> None:
    """Rows written before the rule (extreme timestamps in the column) do not overflow the
    week arithmetic, nor move the week."""
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        for trace_id, moment in (("old-extreme", stamp), ("real", now - timedelta(days=1))):
            payload = {"trace_id": trace_id, "input": "x", "timestamp": moment.isoformat()}
            conn.execute(
                insert(TraceRow).values(
                    source="native",
                    trace_id=trace_id,
                    content_hash="0" * 32,
                    payload=encode_payload(json.dumps(payload).encode()),
                    timestamp=moment.replace(tzinfo=UTC),
                )
            )
    end = reference_end(store)
    assert end is not None
    assert now - timedelta(days=2) < end <= now
    assert week_overview(store, end).this_week.traces == 1
    cluster_lines(store, end)
    only_extreme = reference_end(store, now=datetime(1, 1, 2, tzinfo=UTC))
    if only_extreme is not None:  # year 1 alone still gives a week two weeks can precede
        week_overview(store, only_extreme)


def test_the_migration_flags_extreme_timestamps_already_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0011")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for trace_id, moment in (
            ("far", datetime(9999, 12, 31, 23, 59, 59)),
            ("ok", now - timedelta(days=3)),
        ):
            conn.execute(
                text(
                    "INSERT INTO traces (source, trace_id, content_hash, version, timestamp, "
                    "input_preview, tool_calls, error_count, payload, ingested_at) VALUES "
                    "('native', :tid, :h, 1, :ts, '', 0, 0, :p, :now)"
                ),
                {"tid": trace_id, "h": "0" * 32, "ts": moment, "p": b"j{}", "now": now},
            )
    engine.dispose()
    store = Store.open(url)
    with store.engine.connect() as conn:
        rows = {r.trace_id: r for r in conn.execute(select(TraceRow))}
    assert rows["far"].timestamp is None
    assert "9999-12-31" in (rows["far"].timestamp_flag or "")
    assert rows["ok"].timestamp is not None
    assert rows["ok"].timestamp_flag is None
    store.close()


def test_the_migration_matches_the_models_of_its_tables(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from flywheel.store._tables import Base

    def ours(_object: object, name: str | None, type_: str, *_args: object) -> bool:
        return type_ != "table" or name in {"traces", "ingestion_runs"}

    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": ours}
        )
        assert compare_metadata(context, Base.metadata) == []
