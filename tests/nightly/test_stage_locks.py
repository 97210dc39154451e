"""The pipeline stages run on their own (`flywheel cluster`, `triage`, `replay`, `gate`) take
the same run lock as `flywheel nightly` and `flywheel ingest`: while another process holds it
they exit with one line naming the holder, or wait for it with ``--wait``.

Real processes: a lock holder in a subprocess, the CLI as the user runs it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from flywheel.project import Project
from flywheel.store._tables import ClusterRunRow
from tests.helpers.locks import CLI, cli_env, held_lock
from tests.helpers.traffic import WEEK1, traffic, write_jsonl

pytestmark = pytest.mark.slow  # runs holder processes

AGENT = "python:tests.replay.agents:demo_run"


def _start(project: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "-p", str(project.root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )


def _flywheel(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    with _start(project, *args) as proc:
        out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _failing_traces(project: Project, tmp_path: Path) -> None:
    records, _ = traffic(["tool_timeout", "answered_from_memory"], 8, WEEK1)
    done = _flywheel(project, "ingest", str(write_jsonl(tmp_path / "t.jsonl", records)))
    assert done.returncode == 0, done.stderr


def test_cluster_triage_replay_and_gate_exit_with_one_line_while_a_run_holds_the_lock(
    project: Project, tmp_path: Path
) -> None:
    _failing_traces(project, tmp_path)
    config = tmp_path / "config"
    config.mkdir()
    (config / "prompt.md").write_text("Be brief.\n")
    adhoc = ("--config", str(config), "--baseline-config", str(config), "--agent", AGENT)
    commands = {
        "cluster": ("cluster", "--full"),
        "triage": ("triage",),
        "replay": ("replay", *adhoc),
        "gate": ("gate", *adhoc),
        "cases build": ("cases", "build", "regression", "--size", "5"),
    }
    with held_lock(project.database_url, "flywheel nightly"):
        for name, args in commands.items():
            done = _flywheel(project, *args)
            assert done.returncode == 1, (name, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr, done.stderr
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1, (name, done.stderr)
            assert "another run holds the pipeline lock" in lines[0]
            assert "`flywheel nightly` (pid" in lines[0]
            assert f"on {socket.gethostname()}" in lines[0]
    with project.open_store() as store, store.engine.connect() as conn:
        assert conn.execute(select(ClusterRunRow)).all() == []  # nothing ran meanwhile


def test_two_cluster_runs_at_once_take_turns_with_wait(project: Project, tmp_path: Path) -> None:
    _failing_traces(project, tmp_path)
    procs = [_start(project, "cluster", "--full", "--wait", "240") for _ in range(2)]
    for proc in procs:
        with proc:
            _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    with project.open_store() as store, store.engine.connect() as conn:
        runs = conn.execute(select(ClusterRunRow).order_by(ClusterRunRow.started_at)).all()
    assert [r.kind for r in runs] == ["full", "full"]
    assert all(r.finished_at is not None for r in runs)

    def utc(moment: datetime) -> datetime:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    # one after the other: the second began after the first finished
    assert utc(runs[1].started_at) >= utc(runs[0].finished_at)
