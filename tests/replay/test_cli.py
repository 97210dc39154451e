"""`flywheel cases`, `flywheel replay`, `flywheel gate` end to end on the demo world."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.hookspecs import hookimpl
from flywheel.store import Store
from flywheel.store._tables import ClusterMemberRow, ClusterRow, ClusterRunRow
from flywheel.trace import Trace
from replay import Case, Check, ReplayStore, Suite, split_cluster
from tests.helpers.plugins import installed
from tests.helpers.replay import CLUSTER, DemoWorld

runner = CliRunner()
AGENT = "python:tests.replay.agents:demo_run"


def run_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_world: DemoWorld) -> Path:
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    root = tmp_path / "project"
    run_json("init", str(root))
    monkeypatch.setenv("FLYWHEEL_PROJECT", str(root))
    traces = root / "traces.jsonl"
    traces.write_bytes(b"".join(g.trace.to_json() + b"\n" for g in demo_world.traffic[:400]))
    run_json("ingest", str(traces))
    return root


def test_cases_are_built_listed_and_shown(project: Path, demo_world: DemoWorld) -> None:
    regression = run_json("cases", "build", "regression", "--size", "60", "--days", "30")
    assert regression["cases"] == 60
    assert regression["suite"] == "regression"
    assert run_json("cases", "build", "regression", "--size", "60", "--days", "30") == regression
    severe = demo_world.traffic[0].trace.trace_id
    blocking = run_json("cases", "build", "blocking", severe)
    listed = run_json("cases", "list")
    assert [row["digest"] for row in listed] == [regression["digest"], blocking["digest"]]
    shown = run_json("cases", "show", blocking["digest"][:8])
    assert shown["cases"][0]["case_id"] == severe
    bad = runner.invoke(app, ["cases", "list", "--suite", "nope"])
    assert bad.exit_code == 1
    assert "valid: validation, regression, blocking" in bad.output


def test_a_validation_slice_is_the_held_out_part_of_a_stored_cluster(
    project: Path, demo_world: DemoWorld
) -> None:
    members = {
        g.trace.trace_id
        for g in demo_world.traffic[:400]
        if g.failure_mode == "answered_from_memory"
    }
    with Store.open(f"sqlite:///{project / '.flywheel' / 'flywheel.db'}") as store:
        pks = {s.trace.trace_id: s.pk for s in store.iter_traces()}
        with store.engine.begin() as conn:
            conn.execute(insert(ClusterRunRow).values(id=1, kind="full", model="m"))
            conn.execute(
                insert(ClusterRow).values(
                    id="C-0001", centroid=b"", created_run_id=1, last_run_id=1
                )
            )
            conn.execute(
                insert(ClusterMemberRow),
                [
                    {"trace_pk": pks[t], "cluster_id": "C-0001", "run_id": 1, "signature_hash": "h"}
                    for t in sorted(members)
                ],
            )
    built = run_json("cases", "build", "validation", "--cluster", "C-0001", "--holdout", "0.5")
    shown = run_json("cases", "show", built["digest"])
    held = {case["case_id"] for case in shown["cases"]}
    _, expected = split_cluster(members, holdout=0.5, seed=0)
    assert held == set(expected)
    assert 0 < len(held) < len(members)
    assert all(case["cluster_id"] == "C-0001" for case in shown["cases"])
    missing = runner.invoke(app, ["cases", "build", "validation", "--cluster", "C-9999"])
    assert missing.exit_code == 1
    assert "flywheel clusters" in missing.output


def test_replay_and_gate_on_directories(project: Path, demo_world: DemoWorld) -> None:
    with Store.open(f"sqlite:///{project / '.flywheel' / 'flywheel.db'}") as store:
        replay_store = ReplayStore(store)
        for case_set in (demo_world.validation, demo_world.regression, demo_world.blocking):
            replay_store.save_case_set(case_set)
    dirs = [
        "--config",
        str(demo_world.routing_fix),
        "--baseline-config",
        str(demo_world.baseline),
        "--cluster",
        CLUSTER,
        "--agent",
        AGENT,
    ]
    replayed = run_json("replay", *dirs, "--suite", "validation", "--repeats", "2")
    (run,) = replayed["runs"]
    assert run["suite"] == Suite.validation.value
    assert run["ran"] == 2 * len(demo_world.validation.cases)
    assert run["error"] == 0
    baseline = run_json("replay", *dirs, "--baseline", "--suite", "validation", "--repeats", "2")
    assert baseline["config"] == "baseline"
    assert baseline["runs"][0]["pass_rate"] < run["pass_rate"]

    report = run_json("gate", *dirs, "--repeats", "2")
    assert report["decision"] == "pass", report["reasons"]
    assert report["candidate_id"].startswith("dir-")
    assert report["target"]["fixed"] > 10
    assert set(report["guardrails"]) >= {"latency_p95_ratio", "cost_ratio", "tool_calls_ratio"}
    again = run_json("replay", *dirs, "--suite", "validation", "--repeats", "2")
    assert again["runs"][0]["ran"] == 0
    assert again["runs"][0]["cached"] == run["ran"]


def test_the_cli_says_what_is_missing(project: Path) -> None:
    unknown = runner.invoke(app, ["gate", "cand-1"])
    assert unknown.exit_code == 1
    assert "--config DIR --baseline-config DIR" in unknown.output
    no_agent = runner.invoke(
        app,
        ["replay", "--config", str(project), "--baseline-config", str(project)],
        env={"FLYWHEEL_REPLAY_AGENT": ""},
    )
    assert no_agent.exit_code == 1
    assert "--agent python:package.module:function" in no_agent.output


def test_bench_replay_reports_each_concurrency_level() -> None:
    report = run_json(
        "bench",
        "replay",
        "--latency-ms",
        "5",
        "--seconds",
        "0.2",
        "--concurrency",
        "1",
        "--concurrency",
        "4",
    )
    assert [level["concurrency"] for level in report["levels"]] == [1, 4]
    for level in report["levels"]:
        assert level["errors"] == 0
        assert level["cases"] == max(20, round(0.2 * level["concurrency"] / 0.005))
        assert 0 < level["efficiency"] <= 1.05


class Strict:
    """A third party's scorer: no answer is ever good enough."""

    name = "strict"

    async def score(self, case: Case, trace: Trace) -> Check:
        return Check(name=self.name, passed=False, detail="never good enough")


class StrictPlugin:
    @hookimpl
    def register_scorers(self, register: Callable[[Any], None]) -> None:
        register(Strict())


def test_a_plugin_s_scorer_named_in_the_settings_judges_the_replay(
    project: Path, demo_world: DemoWorld
) -> None:
    with Store.open(f"sqlite:///{project / '.flywheel' / 'flywheel.db'}") as store:
        ReplayStore(store).save_case_set(demo_world.validation)
    args = ["replay", "--config", str(demo_world.routing_fix), "--cluster", CLUSTER]
    args += ["--baseline-config", str(demo_world.baseline)]
    args += ["--agent", AGENT, "--suite", "validation"]
    before = run_json(*args)["runs"][0]
    assert before["pass_rate"] > 0.3
    settings = project / "flywheel.toml"
    settings.write_text(
        settings.read_text() + '\n[replay.harness]\nscorers = ["no_error", "strict"]\n'
    )
    unknown = runner.invoke(app, args)
    assert unknown.exit_code == 1
    assert "unknown scorer(s) strict in [replay.harness] scorers; valid: no_error," in (
        " ".join(unknown.output.split())
    )
    with installed(StrictPlugin(), name="strict-scores"):
        after = run_json(*args)["runs"][0]
    assert after["pass_rate"] == 0.0
    assert after["error"] == 0
