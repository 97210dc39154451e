"""Every command's failure is one line and a non-zero exit; a killed ingest does not stay
"running" forever.

Probes: ``FLYWHEEL_DATABASE_URL=postgresql+psycopg://u:p@127.0.0.1:1/x flywheel stats``
printed about 100 lines of traceback; an ingest killed with -9 stayed "running" in
`flywheel stats` forever.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.project import Project
from flywheel.store import Store
from flywheel.store._tables import IngestionRun, utcnow
from tests.helpers.native import trace, write_lines

runner = CliRunner()
UNREACHABLE = "postgresql+psycopg://u:secret@127.0.0.1:1/x"


@pytest.mark.parametrize(
    "command",
    [["stats"], ["ingest", "t.jsonl"], ["signals"], ["nightly"], ["traces", "list"], ["cluster"]],
)
def test_an_unreachable_database_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.delenv("FLYWHEEL_PROJECT", raising=False)
    monkeypatch.chdir(tmp_path)
    write_lines(tmp_path / "t.jsonl", [trace(1)])
    (tmp_path / "flywheel.toml").write_text(f'database_url = "{UNREACHABLE}"\n')
    result = subprocess.run(
        [sys.executable, "-c", "from flywheel.cli import main; main()", *command],
        check=False,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "FLYWHEEL_DATABASE_URL"},
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot open the database postgresql+psycopg://u:***@")
    assert "Connection refused" in lines[0]
    assert "secret" not in result.stderr


def test_an_unknown_database_driver_is_one_line(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLYWHEEL_DATABASE_URL", "mysql://u@h/x")
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: cannot use database URL 'mysql://u@h/x': No module named 'MySQLdb' "
        "(Flywheel supports sqlite:/// and postgresql+psycopg://)"
    ]


def test_an_unexpected_error_is_one_line_unless_debugging(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(Store, "count_traces", broken)
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: unexpected ZeroDivisionError: division by zero (a bug: please report it; "
        "FLYWHEEL_DEBUG=1 shows the traceback)"
    ]
    monkeypatch.setenv("FLYWHEEL_DEBUG", "1")
    debugging = runner.invoke(app, ["stats"])
    assert isinstance(debugging.exception, ZeroDivisionError)


def test_a_usage_error_keeps_its_usage_message(project: Project) -> None:
    result = runner.invoke(app, ["traces", "list", "--limit", "0"])
    assert result.exit_code == 2
    assert "unexpected" not in result.output


def _run_row(store: Store, **values: object) -> int:
    run_id = store.start_run(["x.jsonl"])
    if values:
        with store.engine.begin() as conn:
            conn.execute(update(IngestionRun).where(IngestionRun.id == run_id).values(**values))
    return run_id


def test_a_run_whose_process_is_gone_shows_abandoned(project: Project) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store.open(project.database_url) as store:
        here = socket.gethostname()
        gone = _run_row(store, pid=dead.pid, host=here)
        alive = _run_row(store)  # this process, this host
        quiet = _run_row(store, host="elsewhere", heartbeat_at=utcnow() - timedelta(hours=2))
        busy = _run_row(store, host="elsewhere", heartbeat_at=utcnow() - timedelta(minutes=5))
    stats = json.loads(runner.invoke(app, ["stats", "--json"]).stdout)
    status = {run["id"]: run["status"] for run in stats["ingestion_runs"]}
    assert status == {gone: "abandoned", alive: "running", quiet: "abandoned", busy: "running"}
    # The age limit is a setting.
    toml = project.root / "flywheel.toml"
    toml.write_text(toml.read_text().replace("stale_run_minutes = 30", "stale_run_minutes = 1"))
    stats = json.loads(runner.invoke(app, ["stats", "--json"]).stdout)
    assert {run["id"]: run["status"] for run in stats["ingestion_runs"]}[busy] == "abandoned"


def test_the_poison_probe_from_the_shell_every_command_goes_on(
    project: Project, tmp_path: Path
) -> None:
    probe = tmp_path / "probe.jsonl"
    probe.write_text('{"trace_id":"t1","input":"hi","scores":[{"name":"q","value":"NaN"}]}\n')
    first = runner.invoke(app, ["ingest", str(probe)])
    assert first.exit_code == 0, first.output
    assert "stored 1" in first.stdout
    assert first.stderr.strip().splitlines() == [
        f"{probe}:1: trace 't1' kept, field 'scores.0.value (q)' dropped: not a finite number "
        "(NaN or infinity) (NaN)"
    ]
    later = write_lines(tmp_path / "later.jsonl", [trace(2)])
    for command in (["ingest", str(later)], ["signals"], ["stats"], ["traces", "show", "t1"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
    shown = runner.invoke(app, ["traces", "show", "t1"]).stdout
    assert "dropped: scores.0.value (q) = NaN" in shown
