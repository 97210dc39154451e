"""On the demo world: ingest → signals → (true-mode) clusters → optimize, then replay the
candidates by regenerating the world's traffic with their configuration.

Clustering and triage are other engineers' stages; here failing traces are grouped by their
true failure mode (labels.json) and given its true root cause, so this test measures the
optimizer alone.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import git
import pytest

from examples.acme_assistant import (
    CONFIG_FIXABLE,
    DEFAULT_CONFIG_DIR,
    FAILURE_MODES,
    generate,
    load_config,
)
from flywheel.config import SignalsConfig
from flywheel.ingest import ingest_paths
from flywheel.project import init_project
from flywheel.signals import detect_failures
from optimizers import (
    CandidateRecord,
    ClusterInput,
    ConfigWorkspace,
    InlineExecutor,
    OptimizeResult,
    adopt_or_init_config_repo,
    optimize,
)
from optimizers._adapter import select_neighbours
from tests.helpers.optimizers import snapshot

os.environ.setdefault("HF_HUB_OFFLINE", "1")
N, SEED = 800, 1


@dataclass
class World:
    config: Path
    workspace: ConfigWorkspace
    result: OptimizeResult
    mode_of: dict[str, str]
    baseline: dict[str, int]
    live_before: dict[str, bytes]
    main_before: str


#: Builds the demo world's week of traffic and optimizes every fixable cluster (~10 s).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("demo")
    os.environ.pop("FLYWHEEL_DATABASE_URL", None)
    project, _ = init_project(root / "project")
    config = root / "agent-config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    workspace = adopt_or_init_config_repo(project, config)
    live_before, main_before = snapshot(config), workspace.head_commit()
    summary = generate(N, SEED, config, root / "traffic" / "traces.jsonl")
    labels = json.loads(summary.labels.read_text())
    with project.open_store() as store:
        ingest_paths(store, [summary.out])
        detect_failures(store, SignalsConfig())
        failing = [s.trace for s in store.iter_traces(failing=True)]
        healthy = [s.trace for s in store.iter_traces(failing=False)]
        groups = defaultdict(list)
        for trace in failing:
            if trace.trace_id in labels:
                groups[labels[trace.trace_id]["failure_mode"]].append(trace)
        clusters = [
            ClusterInput(
                cluster_id=f"C-{i:04d}",
                label=mode.replace("_", " "),
                root_cause=FAILURE_MODES[mode],
                failing=traces,
                neighbours=select_neighbours(traces, healthy),
            )
            for i, (mode, traces) in enumerate(sorted(groups.items()))
            if len(traces) >= 5
        ]
        result = optimize(store, workspace, clusters, executor=InlineExecutor())
    return World(
        config=config,
        workspace=workspace,
        result=result,
        mode_of={c.cluster_id: c.label.replace(" ", "_") for c in clusters},
        baseline=summary.by_mode,
        live_before=live_before,
        main_before=main_before,
    )


def test_every_fixable_cluster_gets_a_real_branch_and_main_is_untouched(world: World) -> None:
    proposed = defaultdict(list)
    for record in world.result.candidates:
        proposed[world.mode_of[record.cluster_id]].append(record)
    fixable = {m for m in world.mode_of.values() if m in CONFIG_FIXABLE}
    assert set(proposed) == fixable
    assert {world.mode_of[h.cluster_id] for h in world.result.handoffs} == (
        set(world.mode_of.values()) - fixable
    )
    repo = git.Repo(world.config)
    for record in world.result.candidates:
        assert record.branch in repo.heads
        changed = repo.git.diff("--name-only", record.base_commit, record.branch).split()
        assert changed
        assert all(
            name.startswith("prompts/")
            or name.startswith("fewshot/")
            or name in ("routing.yaml", "tools.yaml")
            for name in changed
        )
        assert record.worktree is not None
        load_config(record.worktree)  # the demo's strict loader accepts every candidate
    assert world.result.failures == []
    assert repo.head.commit.hexsha == world.main_before
    assert repo.active_branch.name == "main"
    assert snapshot(world.config) == world.live_before


def _first(world: World, mode: str, strategy: str) -> CandidateRecord:
    return next(
        r
        for r in world.result.candidates
        if world.mode_of[r.cluster_id] == mode and r.strategy == strategy
    )


@pytest.mark.parametrize(
    ("mode", "strategy"),
    [("omitted_draft", "rules"), ("answered_from_memory", "rules")],
)
def test_instruction_rules_really_fix_their_failure_mode(
    world: World, mode: str, strategy: str, tmp_path: Path
) -> None:
    record = _first(world, mode, strategy)
    assert record.worktree is not None
    replayed = generate(N, SEED, Path(record.worktree), tmp_path / "traces.jsonl")
    before, after = world.baseline[mode], replayed.by_mode.get(mode, 0)
    assert after <= before * 0.5, f"{mode}: {before} -> {after} with {record.branch}"
