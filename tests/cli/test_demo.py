"""The README's main command and the loop's measurement: `demo quickstart`, `demo run`.

Both run the real nightly loop on the demo world (ingest → detect → cluster → triage → optimize
→ replay → gate → queue); `demo run` also approves through the real rules, git merge and audit.
"""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.datasets import regression_cases
from flywheel.project import load_project

pytestmark = pytest.mark.slow


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    # small weeks make small validation slices: a looser gate lets a real fix through
    monkeypatch.setenv("FLYWHEEL_REPLAY__GATE__ALPHA", "0.2")
    monkeypatch.setenv("FLYWHEEL_REPLAY__GATE__MIN_VALIDATION_CASES", "5")
    return CliRunner()


def test_quickstart_runs_the_nightly_loop_and_a_rerun_reuses_it(
    tmp_path: Path, runner: CliRunner
) -> None:
    target = tmp_path / "demo"
    first = runner.invoke(app, ["demo", "quickstart", str(target), "--n", "800", "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["traces"] == 800
    assert 0 < summary["flagged_failing"] < 800
    assert summary["detection_recall"] > 0.8
    nightly = summary["nightly"]
    assert [s["name"] for s in nightly["stages"]] == [
        "ingest", "detect", "cluster", "triage", "optimize", "gate", "queue", "drift",
    ]  # fmt: skip
    assert {s["status"] for s in nightly["stages"]} == {"finished"}
    by_name = {s["name"]: s["summary"] for s in nightly["stages"]}
    assert by_name["ingest"]["stored"] == 800
    assert by_name["optimize"]["candidates"], "a fixable cluster got no candidate"
    assert by_name["gate"]["decisions"]
    assert (target / "agent-config" / "routing.yaml").is_file()
    assert "config_repo" in (target / "flywheel.toml").read_text()
    assert summary["week"]["fixable_failure_rate"] > 0

    second = runner.invoke(app, ["demo", "quickstart", str(target), "--n", "800", "--json"])
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert again["nightly"]["run_id"] == nightly["run_id"]  # no second run, no new traffic
    assert again["week"] == summary["week"]


def test_demo_run_ships_what_the_gate_passed_and_measures_the_next_week(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "demo"
    made = runner.invoke(app, ["demo", "quickstart", str(target), "--n", "1000", "--json"])
    assert made.exit_code == 0, made.output
    monkeypatch.chdir(target)
    args = ["demo", "run", "--weeks", "1", "--n", "1000", "--json"]
    result = runner.invoke(app, [*args, "--auto-approve-as", "bot-1", "--auto-approve-as", "bot-2"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    weeks = report["weeks"]
    assert [w["week"] for w in weeks] == [1, 2]
    assert report["shipped"] >= 1
    for week in weeks:
        assert week["failure_rate"] == pytest.approx(
            week["fixable_failure_rate"] + week["unfixable_failure_rate"], abs=2e-4
        )
    # what shipped is a merge commit on the configuration's main, with its trailers
    repo = git.Repo(target / "agent-config")
    merges = [c for c in repo.iter_commits("main", first_parent=True) if len(c.parents) == 2]
    assert len(merges) == report["shipped"]
    assert "Flywheel-Approver: bot-1" in merges[0].message
    assert "Flywheel-Cluster: C-" in merges[0].message
    # the bots are accounts that signed in with their stored credentials; the chain is anchored
    for bot in ("bot-1", "bot-2"):
        assert oct((target / ".flywheel" / "credentials" / bot).stat().st_mode & 0o777) == "0o600"
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert runner.invoke(app, ["datasets", "verify"]).exit_code == 0
    # the fixed failures joined the regression eval set, and the paired check ran
    project = load_project(target)
    with project.open_store() as store:
        assert regression_cases(store)
    shift = report["mode_shifts"][0]
    assert shift["requests"] == 1000
    assert sum(shift["repaired"].values()) > 0
