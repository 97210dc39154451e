"""The core candidate contract: the optimizers' provider, found through its entry point, turns
a candidate id into the directories replay gates (worktree and baseline export)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.candidates import (
    CandidateSpec,
    candidate_providers,
    pending_candidates,
    resolve_candidate_spec,
)
from flywheel.errors import UserError
from flywheel.project import Project
from optimizers import OptimizerStore, adopt_or_init_config_repo
from replay import resolve_candidate
from replay._candidates import baseline_ref, config_ref

ORIGINAL = "Be concise and friendly.\n"
EDITED = "Be concise and friendly. Always search before answering.\n"


def _candidate(project: Project) -> int:
    """A real branch + worktree made by the optimizers' workspace, recorded as proposed."""
    config = project.root / "agent-config"
    (config / "prompts").mkdir(parents=True)
    (config / "prompts" / "system.md").write_text(ORIGINAL)
    workspace = adopt_or_init_config_repo(project, config)
    base = workspace.head_commit()
    branch = workspace.create_candidate(
        cluster_id="C-0001",
        strategy="rules",
        number=1,
        edits={"prompts/system.md": EDITED},
        base_commit=base,
        subject="flywheel: rules fix for C-0001",
        body="search first",
        trailers={"Flywheel-Cluster": "C-0001"},
    )
    with project.open_store() as store:
        return OptimizerStore(store).add_candidate(
            {
                "cluster_id": "C-0001",
                "strategy": "rules",
                "number": 1,
                "status": "proposed",
                "branch": branch.branch,
                "worktree": str(branch.worktree),
                "base_commit": branch.base_commit,
                "head_commit": branch.head_commit,
                "files_changed": branch.files_changed,
            }
        )


def test_the_optimizers_provider_is_installed() -> None:
    assert "optimizers" in [provider.name for provider in candidate_providers()]


def test_an_optimizer_candidate_resolves_by_its_id(project: Project) -> None:
    candidate_id = _candidate(project)
    spec = resolve_candidate_spec(project, str(candidate_id))
    assert isinstance(spec, CandidateSpec)
    assert (spec.id, spec.cluster_id, spec.strategy) == (str(candidate_id), "C-0001", "rules")
    assert spec.branch == "flywheel/c-0001/rules-1"
    assert (spec.config_dir / "prompts" / "system.md").read_text() == EDITED
    # the baseline is main at the base commit, exported once (no .git) and reused
    assert (spec.baseline_dir / "prompts" / "system.md").read_text() == ORIGINAL
    assert not (spec.baseline_dir / ".git").exists()
    assert spec.baseline_dir.is_relative_to(project.data_dir)
    again = resolve_candidate_spec(project, str(candidate_id))
    assert again is not None
    assert again.baseline_dir == spec.baseline_dir

    resolved = resolve_candidate(str(candidate_id), project=project)
    assert resolved == spec  # replay reads the very same candidate model
    assert config_ref(resolved).commit == spec.head_commit
    assert config_ref(resolved).digest != baseline_ref(resolved).digest


def test_unknown_ids_are_not_resolved(project: Project) -> None:
    _candidate(project)
    assert resolve_candidate_spec(project, "999") is None
    assert resolve_candidate_spec(project, "dir-abc") is None
    with pytest.raises(UserError, match="unknown candidate '999'"):
        resolve_candidate("999", project=project)


def test_pending_lists_open_candidates_minus_the_gated_ones(project: Project) -> None:
    candidate_id = _candidate(project)
    with project.open_store() as store:
        assert [s.id for s in pending_candidates(store, project)] == [str(candidate_id)]
        assert pending_candidates(store, project, gated={str(candidate_id)}) == []
        OptimizerStore(store).set_status(candidate_id, "rejected")
        assert pending_candidates(store, project) == []


def test_a_candidate_whose_worktree_is_gone_replays_its_branch_head(project: Project) -> None:
    candidate_id = _candidate(project)
    spec = resolve_candidate_spec(project, str(candidate_id))
    assert spec is not None
    worktree = Path(spec.config_dir)
    for path in sorted(worktree.rglob("*"), reverse=True):
        if path.is_file() or path.is_symlink():
            path.unlink()
        else:
            path.rmdir()
    worktree.rmdir()
    moved = resolve_candidate_spec(project, str(candidate_id))
    assert moved is not None
    assert moved.config_dir != worktree
    assert (moved.config_dir / "prompts" / "system.md").read_text() == EDITED
