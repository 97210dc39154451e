"""The ``FLYWHEEL_FAULT_AT`` test hook kills a real `flywheel nightly` where it says, and the
next run resumes there (the whole loop under it: test_kill_every_stage.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from flywheel.errors import UserError
from flywheel.nightly import _faults
from flywheel.nightly._tables import NightlyStageRow
from flywheel.project import Project

ROOT = Path(__file__).resolve().parents[2]
CLI = "from flywheel.cli import main; main()"


def _nightly(project: Project, inbox: Path, fault: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop(_faults.ENV, None)
    if fault is not None:
        env[_faults.ENV] = fault
    command = [sys.executable, "-c", CLI, "-p", str(project.root), "nightly", "--json"]
    return subprocess.run(
        [*command, "--inbox", str(inbox)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _stage(project: Project, name: str) -> tuple[str, int]:
    with project.open_store() as store, store.engine.connect() as conn:
        row = conn.execute(select(NightlyStageRow).where(NightlyStageRow.name == name)).one()
    return row.status, row.attempts


@pytest.mark.slow  # kills and restarts processes
def test_the_hook_kills_inside_a_commit_and_the_next_run_resumes(
    project: Project, tmp_path: Path
) -> None:
    toml = project.root / "flywheel.toml"
    text = toml.read_text().replace("batch_size = 2000", "batch_size = 2")
    toml.write_text(text + '\n[nightly]\nstages = ["ingest", "detect"]\n')
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lines = [json.dumps({"trace_id": f"t{i}", "input": f"q{i}", "output": "ok"}) for i in range(9)]
    (inbox / "day.jsonl").write_text("\n".join(lines) + "\n")

    killed = _nightly(project, inbox, "ingest:commit:3")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _stage(project, "ingest") == ("running", 1)
    with project.open_store() as store:
        assert 0 < store.count_traces() < 9  # the commits before the third were kept

    killed = _nightly(project, inbox, "detect:end")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _stage(project, "ingest") == ("finished", 2)
    assert _stage(project, "detect") == ("running", 1)

    done = _nightly(project, inbox, None)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["resumed"] is True
    assert [s["status"] for s in report["stages"]] == ["finished", "finished"]
    assert report["stages"][0]["summary"]["files"] == ["day.jsonl"]  # read by the first try
    with project.open_store() as store:
        assert store.count_traces() == 9


@pytest.mark.slow  # kills and restarts a process
def test_a_resumed_ingest_counts_the_files_its_killed_attempt_read(
    project: Project, tmp_path: Path
) -> None:
    """Probe: the resumed stage listed the files the killed attempt had read but counted none
    of their traces, so the run's report said 0 read for a week of traffic."""
    toml = project.root / "flywheel.toml"
    toml.write_text(toml.read_text() + '\n[nightly]\nstages = ["ingest"]\n')
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for day, count in (("mon", 4), ("tue", 5)):
        lines = [json.dumps({"trace_id": f"{day}{i}", "input": f"q{i}"}) for i in range(count)]
        (inbox / f"{day}.jsonl").write_text("\n".join([*lines, "{broken"]) + "\n")

    killed = _nightly(project, inbox, "ingest:end")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    done = _nightly(project, inbox, None)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)["stages"][0]["summary"]
    assert summary["files"] == ["mon.jsonl", "tue.jsonl"]
    assert (summary["read"], summary["stored"], summary["quarantined"]) == (11, 9, 2)


@pytest.mark.parametrize("spec", ["ingest", "ingest:middle", "ingest:commit:x", ":start"])
def test_a_malformed_hook_is_a_one_line_error(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_faults.ENV, spec)
    with pytest.raises(UserError, match="FLYWHEEL_FAULT_AT"):
        _faults.point("ingest", "start")
