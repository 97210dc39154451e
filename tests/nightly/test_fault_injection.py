"""Fault injection: `kill -9` of `flywheel nightly` in the middle of its optimize stage.

Two copies of one triaged project: one runs optimize uninterrupted; the other is killed once
optimize has made a branch (workers made branches and worktrees, no record was saved), then
run again. The rerun resumes the same run and ends with the same candidates, branch for
branch and diff for diff, and leaves no orphan branch or worktree behind.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from flywheel.project import init_project, load_project
from optimizers import OptimizerStore, open_workspace

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLI = "from flywheel.cli import main; main()"
UP_TO_TRIAGE = '["ingest", "detect", "cluster", "triage"]'
WITH_OPTIMIZE = '["ingest", "detect", "cluster", "triage", "optimize"]'


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env.pop("FLYWHEEL_DATABASE_URL", None)
    env.pop("FLYWHEEL_PROJECT", None)
    return env


def _command(root: Path, inbox: Path) -> list[str]:
    return [sys.executable, "-c", CLI, "-p", str(root), "nightly", "--inbox", str(inbox), "--json"]


def _nightly(root: Path, inbox: Path) -> dict[str, Any]:
    done = subprocess.run(
        _command(root, inbox), capture_output=True, text=True, env=_env(), timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _set_stages(root: Path, stages: str) -> None:
    toml = root / "flywheel.toml"
    text = toml.read_text().replace(UP_TO_TRIAGE, stages)
    toml.write_text(text if stages in text else text + f"\n[nightly]\nstages = {stages}\n")


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    for name in ("flywheel.toml", ".flywheel/optimizers/workspace.json"):
        path = target / name
        if path.is_file():  # absolute paths of the configuration repository
            path.write_text(path.read_text().replace(str(source), str(target)))
    return target


def _candidates(root: Path) -> list[tuple[Any, ...]]:
    project = load_project(root)
    workspace = open_workspace(project)
    with project.open_store() as store:
        records = OptimizerStore(store).candidates()
    return [
        (
            r.cluster_id,
            r.strategy,
            r.status,
            r.branch,
            r.files_changed,
            workspace.diff(r.branch) if r.branch else r.reason,
        )
        for r in records
    ]


def _made_a_worktree(root: Path) -> bool:
    folder = root / ".flywheel" / "worktrees"
    return folder.is_dir() and any(p.is_dir() for p in folder.glob("*/*"))


def test_kill_9_during_optimize_then_a_rerun_makes_the_same_candidates(tmp_path: Path) -> None:
    world = importlib.import_module("examples.acme_assistant.cli")
    base = tmp_path / "base"
    config = base / "agent-config"
    shutil.copytree(world.DEFAULT_CONFIG_DIR, config)
    os.environ.pop("FLYWHEEL_DATABASE_URL", None)
    init_project(base, config_repo=config)
    with (base / "flywheel.toml").open("a") as handle:
        handle.write(f"\n[nightly]\nmax_clusters = 50\nstages = {UP_TO_TRIAGE}\n")
    inbox = tmp_path / "inbox"
    world.generate(150, 3, config, inbox / "day-1.jsonl", None)
    _nightly(base, inbox)  # ingest .. triage, shared by both copies

    reference = _copy(base, tmp_path / "reference")
    _set_stages(reference, WITH_OPTIMIZE)
    expected = _nightly(reference, inbox)
    made = _candidates(reference)
    assert sum(1 for c in made if c[2] == "proposed") >= 2

    crashed = _copy(base, tmp_path / "crashed")
    _set_stages(crashed, WITH_OPTIMIZE)
    with subprocess.Popen(
        _command(crashed, inbox),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
    ) as proc:
        deadline = time.monotonic() + 120
        while not _made_a_worktree(crashed) and proc.poll() is None:
            assert time.monotonic() < deadline, "optimize never made a worktree"
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert _candidates(crashed) == []  # killed before optimize saved anything

    resumed = _nightly(crashed, inbox)
    assert resumed["resumed"] is True
    assert resumed["run_id"] == expected["run_id"]
    assert _candidates(crashed) == made
    optimize = next(s for s in resumed["stages"] if s["name"] == "optimize")
    assert optimize["attempts"] == 2
    assert not [f for f in optimize["summary"]["failures"] if "already exists" in f["reason"]]
    workspace = open_workspace(load_project(crashed))
    assert workspace.candidate_branches() == sorted(c[3] for c in made if c[3])
    on_disk = sorted(p.name for p in (crashed / ".flywheel" / "worktrees").glob("*/*"))
    expected_disk = sorted(p.name for p in (reference / ".flywheel" / "worktrees").glob("*/*"))
    assert on_disk == expected_disk
