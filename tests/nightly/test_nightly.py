"""`flywheel nightly` on a small demo project: the whole loop joined, resumable, idempotent."""

from __future__ import annotations

import importlib
import json
import os
import shutil
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.nightly import NightlyFailed, drift_history, run_nightly
from flywheel.nightly._tables import NightlyRunRow, NightlyStageRow
from flywheel.project import Project, init_project, load_project
from flywheel.store import Store

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

pytestmark = pytest.mark.slow

BROKEN = "python:tests.nightly.agents:broken"
DEMO = "python:tests.replay.agents:demo_run"
# Small traffic makes small validation slices: the gate's thresholds are relaxed so a real fix
# can pass on a few cases (the gate's statistics are tested in tests/replay). Every fixable
# cluster is optimized on the first night, so the second has nothing new to do.
GATE = """
[nightly]
max_clusters = 50

[replay.gate]
alpha = 0.2
min_validation_cases = 5
"""


def _demo_project(project: Project, traces: int = 1000) -> Project:
    world = importlib.import_module("examples.acme_assistant.cli")
    config = project.root / "agent-config"
    shutil.copytree(world.DEFAULT_CONFIG_DIR, config)
    init_project(project.root, config_repo=config)
    with (project.root / "flywheel.toml").open("a", encoding="utf-8") as handle:
        handle.write(GATE)
    world.generate(traces, 3, config, project.root / "inbox" / "day-1.jsonl", None)
    return load_project(project.root)


def _stages(store: Store, run_id: int) -> dict[str, Any]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(NightlyStageRow).where(NightlyStageRow.run_id == run_id))
        return {row.name: row for row in rows}


def _runs(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(NightlyRunRow).order_by(NightlyRunRow.id)))


def test_nightly_fills_the_queue_resumes_after_a_failure_and_reruns_idempotently(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = _demo_project(project)
    monkeypatch.setenv("FLYWHEEL_REPLAY__AGENT", BROKEN)

    # 1. an agent that fails on every case: the gate stage fails, the run stops there
    with pytest.raises(NightlyFailed) as failed:
        run_nightly(load_project(demo.root))
    assert "stage 'gate' failed" in str(failed.value)
    assert "refused the connection" in str(failed.value)
    run_id = failed.value.report.run_id
    with demo.open_store() as store:
        stages = _stages(store, run_id)
        assert [_runs(store)[-1].status] == ["failed"]
    assert {n: s.status for n, s in stages.items()} == {
        **dict.fromkeys(["ingest", "detect", "cluster", "triage", "optimize"], "finished"),
        "gate": "failed",
    }
    assert "agent failed on all" in stages["gate"].error
    assert stages["optimize"].counts["candidates"] > 0
    assert (demo.root / ".flywheel" / "reports" / f"nightly-{run_id}.md").is_file()

    # 2. the agent fixed, the CLI resumes the same run at the gate (earlier stages not rerun)
    monkeypatch.setenv("FLYWHEEL_REPLAY__AGENT", DEMO)
    runner = CliRunner()
    resumed = runner.invoke(app, ["-p", str(demo.root), "nightly", "--json"])
    assert resumed.exit_code == 0, resumed.output
    report = json.loads(resumed.stdout)
    assert report["run_id"] == run_id
    assert report["resumed"] is True
    with demo.open_store() as store:
        stages = _stages(store, run_id)
        assert len(_runs(store)) == 1
    assert {n: s.attempts for n, s in stages.items()} == {
        **dict.fromkeys(["ingest", "detect", "cluster", "triage", "optimize"], 1),
        "gate": 2,
        "queue": 1,
        "drift": 1,
    }
    assert all(s.status == "finished" for s in stages.values())
    by_name = {s["name"]: s for s in report["stages"]}
    decisions = by_name["gate"]["summary"]["decisions"]
    passed = [d["candidate_id"] for d in decisions if d["decision"] == "pass"]
    assert passed, [(d["candidate_id"], d["decision"], d["reasons"]) for d in decisions]
    assert by_name["queue"]["summary"]["queue_size"] >= 1
    assert set(passed) <= set(by_name["queue"]["summary"]["imported"])
    assert by_name["drift"]["summary"]["cases"] > 0
    md = (demo.root / ".flywheel" / "reports" / f"nightly-{run_id}.md").read_text()
    assert "## Gate decisions" in md
    assert "**pass**" in md
    saved = json.loads((demo.root / ".flywheel" / "reports" / f"nightly-{run_id}.json").read_text())
    assert saved["status"] == "finished"

    # 3. the next night with nothing new does no work again
    again = run_nightly(load_project(demo.root))
    assert again.run_id != run_id
    work = {s.name: s.counts for s in again.stages}
    assert work["ingest"]["files"] == 0
    assert work["detect"]["evaluated"] == 0
    assert work["cluster"]["traces"] == 0
    assert work["triage"]["clusters"] == 0
    assert work["optimize"]["candidates"] == 0
    assert work["gate"]["candidates"] == 0
    assert work["queue"]["imported"] == 0
    assert work["drift"]["ran"] == 0
    with demo.open_store() as store:
        history = drift_history(store)
    assert len(history) == 2
    assert history[0][1] == history[1][1]  # main did not change: same pass rate
    assert again.stage("drift") is not None
    assert again.stage("drift").summary["delta"] == 0  # type: ignore[union-attr]

    # 4. `flywheel gate <id>` finds an optimizer candidate by its id
    gated = runner.invoke(app, ["-p", str(demo.root), "gate", passed[0], "--json"])
    assert gated.exit_code == 0, gated.output
    data = json.loads(gated.stdout)
    assert data["candidate_id"] == passed[0]
    assert data["decision"] == "pass"
