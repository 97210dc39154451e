"""Retention deletes old traces with what they own, never one that something kept refers to,
and its counts add up (dry run or not)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from flywheel.config import SignalsConfig
from flywheel.datasets import add_case
from flywheel.ingest import ingest_paths
from flywheel.project import Project
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.store._retention import apply_retention
from flywheel.store._tables import ClusterRow, ClusterRunRow, SignalRow, TraceRow
from optimizers._tables import HandoffRow
from tests.helpers.locks import CLI, cli_env, held_lock
from tests.helpers.native import trace, write_lines
from ui.approvals.tables import AuditRecordRow

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _fill(store: Store, tmp_path: Path) -> None:
    """t-1..t-8 from January (old), t-9 and t-10 from November; t-1..t-4 referred to by a
    cluster exemplar, an eval case, an audit record and an optimizer hand-off's evidence."""
    lines: list[bytes | str | dict[str, Any]] = [
        trace(i, timestamp="2026-01-10T09:00:00Z" if i <= 8 else "2026-11-20T09:00:00Z")
        for i in range(1, 11)
    ]
    ingest_paths(store, [write_lines(tmp_path / "t.jsonl", lines)])
    detect_failures(store, SignalsConfig())
    add_case(store, "t-2", role="regression", added_by="alice")
    with store.engine.begin() as conn:
        run = conn.execute(
            insert(ClusterRunRow).values(kind="full", model="m", started_at=NOW, detail={})
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(
            insert(ClusterRow).values(
                id="C-0001",
                exemplar_ids={"ids": ["t-1"]},
                centroid=b"",
                created_run_id=run,
                last_run_id=run,
            )
        )
        conn.execute(
            insert(AuditRecordRow).values(
                actor="bob",
                action="approve",
                subject="cand-1",
                detail={"evidence": {"traces": ["t-3"]}},
                prev_hash="0" * 64,
                hash="1" * 64,
            )
        )
        conn.execute(
            insert(HandoffRow).values(
                cluster_id="C-0001",
                root_cause="latency_infra",
                owner="infra",
                evidence={"items": [{"trace_id": "t-4", "why": "timeout"}]},
            )
        )


def _ids(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(TraceRow.trace_id)).scalars(), key=lambda t: int(t[2:]))


def _signals(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SignalRow)).scalar_one())


def test_old_traces_go_with_their_signals_but_referenced_ones_stay(
    store: Store, tmp_path: Path
) -> None:
    _fill(store, tmp_path)
    signals = _signals(store)
    dry = apply_retention(store, 30, dry_run=True, now=NOW)
    assert (dry.older, dry.deleted, dry.kept) == (8, 4, 4)
    assert dry.older == dry.deleted + dry.kept
    for keeper in ("clusters", "eval_cases", "optimizer_handoffs", "ui_audit_log"):
        assert dry.kept_by[keeper] == 1, keeper
    # a dry run deletes nothing
    assert len(_ids(store)) == 10
    assert _signals(store) == signals

    done = apply_retention(store, 30, now=NOW)
    assert done.model_dump(exclude={"dry_run"}) == dry.model_dump(exclude={"dry_run"})
    assert _ids(store) == ["t-1", "t-2", "t-3", "t-4", "t-9", "t-10"]
    assert done.rows["traces"] == done.deleted == 4
    assert _signals(store) == signals - done.rows["signals"]
    assert done.rows["signals"] > 0
    again = apply_retention(store, 30, now=NOW)
    assert (again.older, again.deleted, again.kept) == (4, 0, 4)


def test_a_trace_without_timestamp_ages_from_its_ingest(store: Store, tmp_path: Path) -> None:
    lines: list[bytes | str | dict[str, Any]] = [trace(1, timestamp="9999-01-01T00:00:00Z")]
    ingest_paths(store, [write_lines(tmp_path / "t.jsonl", lines)])
    assert apply_retention(store, 30).older == 0  # ingested just now
    report = apply_retention(store, 30, now=datetime(2099, 1, 1, tzinfo=UTC))
    assert (report.older, report.deleted) == (1, 1)


def _flywheel(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        check=False,
        cwd=project.root,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # runs the CLI and a lock holder in subprocesses
def test_the_command_needs_a_period_reports_json_and_takes_the_run_lock(
    project: Project, tmp_path: Path
) -> None:
    with project.open_store() as store:
        _fill(store, tmp_path)
    missing = _flywheel(project, "retention")
    assert missing.returncode == 1
    assert "older_than_days" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    with (project.root / "flywheel.toml").open("a") as handle:
        handle.write("\n[retention]\nolder_than_days = 100000\n")
    nothing = json.loads(_flywheel(project, "retention", "--json").stdout)
    assert nothing["older"] == 0
    dry = json.loads(
        _flywheel(project, "retention", "--older-than", "30", "--dry-run", "--json").stdout
    )
    assert (dry["older"], dry["deleted"], dry["kept"]) == (dry["older"], 4, 4)
    with held_lock(project.database_url):
        blocked = _flywheel(project, "retention", "--older-than", "30")
        assert blocked.returncode == 1
        assert "another run holds the pipeline lock" in blocked.stderr
    with project.open_store() as store:
        assert len(_ids(store)) == 10
    done = _flywheel(project, "retention", "--older-than", "30")
    assert done.returncode == 0, done.stderr
    assert "deleted 4, kept 4" in done.stdout
    with project.open_store() as store:
        assert len(_ids(store)) == 6
