"""Logging of the `flywheel` command: one handler on stderr, -v / -q / FLYWHEEL_LOG_LEVEL, the
progress chatter silenced by --quiet, errors still one line, --json stdout still clean."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.cli._logging import LOGGERS, chatter, configure, reset
from flywheel.project import Project
from tests.helpers.native import trace, write_lines
from tests.helpers.traffic import WEEK1, traffic, write_jsonl

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
ONE_STAGE_NIGHT = '\n[nightly]\nstages = ["ingest", "detect"]\n'


def run(*args: str, **env: str) -> Any:
    return runner.invoke(app, list(args), env=env or None)


@pytest.fixture
def nightly_project(project: Project) -> Project:
    """A project whose nightly run is ingest + detect of a small inbox (fast, no model)."""
    with (project.root / "flywheel.toml").open("a", encoding="utf-8") as handle:
        handle.write(ONE_STAGE_NIGHT)
    (project.root / "inbox").mkdir()
    write_lines(project.root / "inbox" / "day-1.jsonl", [trace(i) for i in range(6)])
    return project


def test_verbose_shows_debug_lines_on_stderr(project: Project) -> None:
    result = run("-v", "stats")
    assert result.exit_code == 0, result.output
    opened = r"DEBUG flywheel\.project: opening the store (sqlite|postgresql)"
    assert re.search(opened, result.stderr)
    assert "DEBUG" not in result.stdout
    quiet_default = run("stats")
    assert "DEBUG" not in quiet_default.stderr


def test_env_level_is_read_case_insensitively(project: Project) -> None:
    result = run("stats", FLYWHEEL_LOG_LEVEL="debug")
    assert result.exit_code == 0, result.output
    assert "DEBUG flywheel.project" in result.stderr


def test_nightly_progress_is_info_and_quiet_silences_it(nightly_project: Project) -> None:
    default = run("nightly")
    assert default.exit_code == 0, default.output
    assert "INFO flywheel.nightly._pipeline: nightly run 1: ingest started" in default.stderr
    assert "detect finished" in default.stderr
    assert "nightly run 1" in default.stdout  # the summary table is the result

    quiet = run("-q", "nightly", "--new")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert "nightly run 2" in quiet.stdout

    by_env = run("nightly", "--new", FLYWHEEL_LOG_LEVEL="WARNING")
    assert by_env.exit_code == 0, by_env.output
    assert by_env.stderr == ""


def test_cluster_chatter_is_info_quiet_hides_it_and_json_keeps_stdout_clean(
    project: Project, tmp_path: Path
) -> None:
    records, _ = traffic(["tool_timeout", "answered_from_memory"], 6, WEEK1)
    assert run("ingest", str(write_jsonl(tmp_path / "t.jsonl", records)), "--json").exit_code == 0
    default = run("cluster", "--full")
    assert default.exit_code == 0, default.output
    assert "INFO flywheel.clustering: 12 failing traces; embedding" in default.stderr
    quiet = run("-q", "cluster", "--full")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert quiet.stdout.strip()  # the result is still printed
    verbose = run("-v", "cluster", "--full", "--json")
    assert verbose.exit_code == 0, verbose.output
    assert json.loads(verbose.stdout)["traces"] == 12
    # With --json the chatter is DEBUG: there with -v, on stderr only.
    assert "DEBUG flywheel.clustering: 12 failing traces; embedding" in verbose.stderr
    silent = run("cluster", "--full", "--json")
    assert "embedding" not in silent.stderr


def test_json_stdout_parses_with_verbose(nightly_project: Project) -> None:
    result = run("-v", "nightly", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [stage["status"] for stage in report["stages"]] == ["finished", "finished"]
    assert "DEBUG flywheel.project" in result.stderr
    assert "ingest started" in result.stderr


def test_quiet_keeps_the_one_line_error(nightly_project: Project) -> None:
    missing = run("-q", "traces", "show", "nope")
    assert missing.exit_code == 1
    assert missing.stderr.strip().splitlines() == [
        "error: no trace 'nope'; list them with `flywheel traces list`"
    ]
    # A night that stops once its progress has begun (the fault hook's bad spec is a UserError
    # raised at the first stage's start): the chatter goes with -q, the one error line stays.
    loud = run("nightly", FLYWHEEL_FAULT_AT="ingest")
    assert loud.exit_code == 1
    assert "ingest started" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1].startswith("error: FLYWHEEL_FAULT_AT")
    failed = run("-q", "nightly", FLYWHEEL_FAULT_AT="ingest")
    assert failed.exit_code == 1
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith("error: FLYWHEEL_FAULT_AT")


def test_bad_level_is_one_clear_line(project: Project) -> None:
    result = run("stats", FLYWHEEL_LOG_LEVEL="loud")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: FLYWHEEL_LOG_LEVEL='loud' is not a log level; valid: DEBUG, INFO, WARNING, ERROR"
    ]
    assert result.stdout == ""


def test_verbose_and_quiet_together_is_an_error(project: Project) -> None:
    result = run("-v", "-q", "stats")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: --verbose and --quiet contradict each other: give one of them"
    ]


def test_the_options_win_over_the_env(project: Project) -> None:
    result = run("-q", "stats", FLYWHEEL_LOG_LEVEL="DEBUG")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_a_command_leaves_logging_as_it_found_it(project: Project) -> None:
    before = {
        name: (logging.getLogger(name).level, logging.getLogger(name).propagate) for name in LOGGERS
    }
    assert run("-q", "stats").exit_code == 0
    after = {
        name: (logging.getLogger(name).level, logging.getLogger(name).propagate) for name in LOGGERS
    }
    assert after == before
    assert not any(logging.getLogger(name).handlers for name in LOGGERS)


def test_chatter_is_info_and_drops_to_debug_with_json() -> None:
    stream = io.StringIO()
    try:
        configure(logging.INFO, stream=stream)
        chatter("flywheel.clustering")("embedding 12 traces\nof 40")
        chatter("triage.bench", json_out=True)("hidden at INFO")
        configure(logging.DEBUG, stream=stream)
        chatter("triage.bench", json_out=True)("shown with -v")
    finally:
        reset()
    lines = [line.split(" ", 1)[1] for line in stream.getvalue().splitlines()]
    assert [line for line in lines if "_logging" not in line] == [
        "INFO flywheel.clustering: embedding 12 traces of 40",
        "DEBUG triage.bench: shown with -v",
    ]


def test_a_real_process_logs_plain_lines_on_stderr_only(project: Project) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FLYWHEEL_LOG_LEVEL": "DEBUG"}
    done = subprocess.run(
        [sys.executable, "-c", "from flywheel.cli import main; main()", "stats", "--json"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["traces"] == 0
    lines = done.stderr.splitlines()
    assert lines, "no log lines"
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
    assert all(re.match(rf"{stamp} (DEBUG|INFO|WARNING|ERROR) \S+: ", line) for line in lines)
