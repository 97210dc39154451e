"""The `flywheel` command as a user runs it: real project folder, real database rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.project import Project
from flywheel.store import Store
from tests.helpers.native import trace, write_lines

runner = CliRunner()


def run(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    return result


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_init_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    first = run_json("init", str(tmp_path / "p"))
    second = run_json("init", str(tmp_path / "p"))
    assert (first["created"], second["created"]) == (True, False)
    assert (tmp_path / "p" / "flywheel.toml").is_file()
    assert (tmp_path / "p" / ".flywheel" / "flywheel.db").is_file()


def test_ingest_json_counts_add_up_and_rerun_is_idempotent(
    project: Project, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "t.jsonl", [trace(1), "not json", trace(2), {"input": "no id"}])
    first = run_json("ingest", str(path))
    assert {k: first[k] for k in ("read", "stored", "updated", "duplicates", "quarantined")} == {
        "read": 4,
        "stored": 2,
        "updated": 0,
        "duplicates": 0,
        "quarantined": 2,
    }
    assert [(e["line"], e["field"]) for e in first["errors"]] == [(2, None), (4, "trace_id")]
    second = run_json("ingest", str(path))
    assert (second["stored"], second["duplicates"], second["quarantined"]) == (0, 2, 2)
    with Store.open(project.database_url) as store:
        assert store.count_traces() == 2


def test_strict_ingest_fails_on_quarantine(project: Project, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", [trace(1), "not json"])
    result = run("ingest", "--strict", str(path))
    assert result.exit_code == 1


def test_traces_list_show_signals_and_stats(project: Project, tmp_path: Path) -> None:
    healthy = trace(2, feedback=[{"kind": "thumb", "value": 1}], scores={"groundedness": 0.9})
    healthy["steps"] = healthy["steps"][:1]
    run_json("ingest", str(write_lines(tmp_path / "t.jsonl", [trace(1), healthy])))

    listed = run_json("traces", "list")
    assert listed["total"] == 2
    assert {t["trace_id"]: t["failing"] for t in listed["traces"]} == {"t-1": True, "t-2": False}
    failing = run_json("traces", "list", "--failing")
    assert [t["trace_id"] for t in failing["traces"]] == ["t-1"]

    shown = run_json("traces", "show", "t-1")
    assert shown["trace"]["steps"][1]["error"] == "TimeoutError: 30s"
    kinds = {s["kind"] for s in shown["signals"]}
    assert {"negative_feedback", "low_score", "timeout"} <= kinds

    signals = run_json("signals")
    assert (signals["traces"], signals["failing"]) == (2, 1)
    assert signals["by_kind"]["timeout"]["traces"] == 1

    stats = run_json("stats")
    assert (stats["traces"], stats["failing"], stats["not_evaluated"]) == (2, 1, 0)
    assert stats["ingestion_runs"][0]["status"] == "completed"

    human = run("traces", "show", "t-1")
    assert human.exit_code == 0
    assert "TimeoutError" in human.stdout


def test_errors_are_one_line_and_exit_non_zero(project: Project) -> None:
    missing = run("traces", "show", "nope")
    assert missing.exit_code == 1
    assert missing.stderr.strip().splitlines() == [
        "error: no trace 'nope'; list them with `flywheel traces list`"
    ]
    bad_format = run("ingest", "--format", "csv", ".")
    assert bad_format.exit_code == 1
    assert "valid formats: auto, otlp" in bad_format.stderr


def test_no_project_says_how_to_create_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLYWHEEL_PROJECT", raising=False)
    result = run("stats")
    assert result.exit_code == 1
    assert "run `flywheel init" in result.stderr


def test_bad_config_names_the_key(project: Project) -> None:
    (project.root / "flywheel.toml").write_text("[signals]\nfailing_treshold = 0.4\n")
    result = run("stats")
    assert result.exit_code == 1
    assert "signals.failing_treshold" in result.stderr


def test_schema_exports_the_trace_json_schema() -> None:
    result = run("schema", "trace")
    schema = json.loads(result.stdout)
    assert set(schema["required"]) == {"trace_id", "input"}
    assert "Step" in schema["$defs"]


@pytest.mark.slow  # kills a subprocess
def test_a_killed_ingest_resumes_without_loss_or_duplicates(
    project: Project, tmp_path: Path
) -> None:
    n = 20_000
    path = write_lines(tmp_path / "big.jsonl", [trace(i) for i in range(n)])
    env = {**os.environ, "FLYWHEEL_INGEST__BATCH_SIZE": "500"}
    command = [sys.executable, "-c", "from flywheel.cli import main; main()", "ingest", str(path)]
    with Store.open(project.database_url) as store:
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while store.count_traces() < 2_000 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stored_before = store.count_traces()
        assert 0 < stored_before < n, "the ingest should have been killed midway"

        result = subprocess.run(
            [*command, "--json"], env=env, capture_output=True, text=True, check=True
        )
        counts = json.loads(result.stdout)
        assert counts["read"] == n
        assert counts["stored"] == n - stored_before
        assert counts["duplicates"] == stored_before
        assert store.count_traces() == n
        runs = store.ingestion_runs()
        # the killed run never finished, and shows so (its process is gone); the rerun did
        assert [r["status"] for r in runs[:2]] == ["completed", "abandoned"]
        assert runs[1]["stored"] == stored_before
