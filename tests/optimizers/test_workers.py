"""Workers: candidates per fixable cluster, hand-offs, failures as records, parallel == serial."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from flywheel.config import OptimizeSettings
from flywheel.errors import UserError
from flywheel.store import Store
from optimizers import (
    ConfigWorkspace,
    InlineExecutor,
    OptimizationTask,
    OptimizerStore,
    Proposal,
    optimize,
    resolve_strategy,
)
from tests.helpers.optimizers import (
    fresh_project,
    outcome,
    sample_clusters,
    snapshot,
)


class Spy:
    """Writes down exactly what it was given, then proposes one prompt line."""

    name = "spy"

    def __init__(self, out: Path) -> None:
        self.out = out

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        received = {
            "failing": [t.trace_id for t in task.failing],
            "neighbours": [t.trace_id for t in task.neighbours],
            "everything": task.model_dump_json(),
        }
        (self.out / f"{task.cluster_id}.json").write_text(json.dumps(received))
        text = task.config_files["prompts/system.md"] + f"Spy line for {task.cluster_id}.\n"
        return [Proposal(edits={"prompts/system.md": text}, rationale="spy")]


class Raises:
    name = "raises"

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        raise RuntimeError("strategy bug")


class BadYaml:
    name = "badyaml"

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        return [Proposal(edits={"routing.yaml": "rules: [oops\n"}, rationale="broken")]


def test_validation_traces_never_reach_a_strategy(
    store: Store, workspace: ConfigWorkspace, tmp_path: Path
) -> None:
    clusters = sample_clusters()[:2]
    result = optimize(
        store, workspace, clusters, strategies=[Spy(tmp_path)], executor=InlineExecutor()
    )
    ostore = OptimizerStore(store)
    for cluster in clusters:
        split = ostore.load_split(cluster.cluster_id)
        assert split is not None
        validation = set(split.validation_ids_for_replay())
        assert validation, "the split must hold some traces back"
        received = json.loads((tmp_path / f"{cluster.cluster_id}.json").read_text())
        assert set(received["failing"]) == set(split.optimisation_ids)
        assert not (set(received["failing"]) | set(received["neighbours"])) & validation
        # Nothing the strategy got (the whole task, serialised) mentions a validation trace.
        assert not any(f'"{tid}"' in received["everything"] for tid in validation)
    assert len(result.candidates) == 2


def test_each_fixable_cluster_gets_candidates_unfixable_gets_a_handoff(
    store: Store, workspace: ConfigWorkspace, config_dir: Path
) -> None:
    before = snapshot(config_dir)
    main = git.Repo(config_dir).head.commit.hexsha
    result = optimize(store, workspace, sample_clusters(), executor=InlineExecutor())
    by_cluster = {c.cluster_id for c in result.candidates}
    assert by_cluster == {"C-0001", "C-0002"}
    assert [h.cluster_id for h in result.handoffs] == ["C-0003"]
    assert result.handoffs[0].owner == "infra"
    assert OptimizerStore(store).handoffs()[0].cluster_id == "C-0003"
    repo = git.Repo(config_dir)
    for candidate in result.candidates:
        assert candidate.branch in repo.heads
        assert candidate.files_changed
        assert all(f.endswith((".md", ".yaml")) for f in candidate.files_changed)
    strategies = {(c.cluster_id, c.strategy) for c in result.candidates}
    assert ("C-0001", "rules") in strategies
    assert ("C-0002", "routing") in strategies
    assert repo.head.commit.hexsha == main
    assert snapshot(config_dir) == before
    # Re-running numbers new candidates after the old ones, and records the hand-off once.
    again = optimize(store, workspace, sample_clusters(), executor=InlineExecutor())
    assert {c.branch for c in again.candidates}.isdisjoint({c.branch for c in result.candidates})
    assert len(OptimizerStore(store).handoffs()) == 1


def test_a_failing_strategy_is_recorded_and_the_others_go_on(
    store: Store, workspace: ConfigWorkspace, config_dir: Path, tmp_path: Path
) -> None:
    before = snapshot(config_dir)
    result = optimize(
        store,
        workspace,
        sample_clusters()[:1],
        strategies=[Raises(), BadYaml(), Spy(tmp_path)],
        executor=InlineExecutor(),
    )
    reasons = {f.strategy: f.reason for f in result.failures}
    assert "RuntimeError: strategy bug" in reasons["raises"]
    assert "invalid YAML" in reasons["badyaml"]
    assert [c.strategy for c in result.candidates] == ["spy"]
    statuses = [(c.strategy, c.status) for c in OptimizerStore(store).candidates()]
    assert statuses == [("raises", "failed"), ("badyaml", "failed"), ("spy", "proposed")]
    assert snapshot(config_dir) == before


def test_caps_per_cluster(store: Store, workspace: ConfigWorkspace) -> None:
    config = OptimizeSettings(max_candidates_per_cluster=1)
    result = optimize(
        store, workspace, sample_clusters()[:2], config=config, executor=InlineExecutor()
    )
    assert sorted(c.cluster_id for c in result.candidates) == ["C-0001", "C-0002"]


def test_strategy_names_are_resolved_with_clear_errors() -> None:
    assert resolve_strategy("rules").name == "rules"
    with pytest.raises(UserError, match="valid: fewshot, gepa, revert, routing, rules"):
        resolve_strategy("magic")
    gepa = resolve_strategy("gepa")  # installed with the dev extra; scored by an evaluator
    assert gepa.name == "gepa"
    with pytest.raises(UserError, match="valid: fewshot, gepa, revert, routing, rules"):
        resolve_strategy("GEPA")
    with pytest.raises(UserError, match="not a strategy"):
        resolve_strategy(object())  # type: ignore[arg-type]


@pytest.mark.slow
def test_parallel_workers_make_the_same_candidates_as_a_serial_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial_project, serial_ws = fresh_project(tmp_path, "serial", monkeypatch)
    with serial_project.open_store() as store:
        optimize(store, serial_ws, sample_clusters(), executor=InlineExecutor())
    parallel_project, parallel_ws = fresh_project(tmp_path, "parallel", monkeypatch)
    with parallel_project.open_store() as store:
        optimize(store, parallel_ws, sample_clusters(), config=OptimizeSettings(max_workers=2))
    serial = outcome(serial_project, serial_ws)
    assert serial
    assert outcome(parallel_project, parallel_ws) == serial


def test_triage_and_the_optimizers_share_one_fix_type_vocabulary(
    store: Store, workspace: ConfigWorkspace
) -> None:
    clusters = [c.model_copy(update={"fix_type": "routing_rule"}) for c in sample_clusters()]
    routing = [c for c in clusters if c.cluster_id == "C-0002"]
    result = optimize(store, workspace, routing, executor=InlineExecutor())
    assert result.candidates
    assert {c.fix_type for c in result.candidates} == {"routing_rule"}
    # A row an earlier version wrote with the optimizer's old names reads in today's names.
    (legacy,) = OptimizerStore(store).add_candidates(
        [{"cluster_id": "C-0009", "strategy": "fewshot", "status": "failed", "fix_type": "fewshot"}]
    )
    assert legacy.fix_type == "few_shot"
    assert OptimizerStore(store).candidates(cluster_id="C-0009")[0].fix_type == "few_shot"
