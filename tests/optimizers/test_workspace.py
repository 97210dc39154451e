"""The configuration repository: adoption, candidate branches, failures, cleanup."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from flywheel.errors import UserError
from flywheel.project import Project
from optimizers import CandidateFailure, ConfigWorkspace, adopt_or_init_config_repo, open_workspace
from optimizers._naming import branch_name, commit_message
from optimizers._workspace import CandidateBranch
from tests.helpers.optimizers import snapshot, write_config

TRAILERS = {
    "Flywheel-Cluster": "C-0001",
    "Flywheel-Root-Cause": "prompt_instruction",
    "Flywheel-Strategy": "rules",
    "Flywheel-Rationale": "drafts are omitted",
}


def _candidate(
    ws: ConfigWorkspace, number: int = 1, edits: dict[str, str] | None = None
) -> CandidateBranch:
    return ws.create_candidate(
        cluster_id="C-0001",
        strategy="rules",
        number=number,
        edits=edits or {"prompts/system.md": "# Assistant\n\nAlways include the full draft.\n"},
        base_commit=ws.head_commit(),
        subject="flywheel: rules fix",
        body="why",
        trailers=TRAILERS,
    )


def test_init_puts_the_config_under_git_and_is_idempotent(
    git_project: Project, config_dir: Path
) -> None:
    project = git_project
    ws = adopt_or_init_config_repo(project, config_dir)
    repo = git.Repo(config_dir)
    assert repo.active_branch.name == "main"
    assert not repo.is_dirty(untracked_files=True)
    assert set(ws.config_files()) == {
        "prompts/system.md",
        "routing.yaml",
        "tools.yaml",
        "fewshot/examples.yaml",
    }
    head = ws.head_commit()
    again = adopt_or_init_config_repo(project, config_dir)
    assert again.head_commit() == head
    assert open_workspace(project).info == again.info


def test_adopts_an_existing_repository_with_the_config_in_a_subfolder(
    git_project: Project, tmp_path: Path
) -> None:
    project = git_project
    repo = git.Repo.init(tmp_path / "agent", initial_branch="trunk")
    write_config(tmp_path / "agent" / "config")
    (tmp_path / "agent" / "app.py").write_text("print('agent')\n")
    repo.git.add("-A")
    repo.index.commit("agent", author=git.Actor("a", "a@x"), committer=git.Actor("a", "a@x"))
    ws = adopt_or_init_config_repo(project, tmp_path / "agent" / "config")
    assert ws.info.main == "trunk"
    assert ws.info.config_dir == "config"
    made = _candidate(ws)
    assert made.files_changed == ["prompts/system.md"]
    assert "app.py" not in ws.config_files()


def test_a_candidate_is_a_branch_with_trailers_and_main_is_untouched(
    workspace: ConfigWorkspace, config_dir: Path
) -> None:
    before = snapshot(config_dir)
    repo = git.Repo(config_dir)
    main_before = repo.head.commit.hexsha
    made = _candidate(workspace)
    assert made.branch == "flywheel/c-0001/rules-1"
    assert made.worktree.parent.parent == workspace.info.worktrees
    commit = repo.commit(made.branch)
    assert commit.parents[0].hexsha == main_before
    message = str(commit.message)
    for key, value in TRAILERS.items():
        assert f"\n{key}: {value}" in message
    assert f"\nFlywheel-Base: {main_before}" in message
    changed = repo.git.diff("--name-only", main_before, commit.hexsha).split()
    assert changed == ["prompts/system.md"]
    assert repo.head.commit.hexsha == main_before
    assert repo.active_branch.name == "main"
    assert snapshot(config_dir) == before
    assert "Always include the full draft." in workspace.diff(made.branch)


@pytest.mark.parametrize(
    ("prepare", "reason"),
    [
        ("dirty", "uncommitted changes"),
        ("detached", "detached HEAD"),
        ("branch", "already exists"),
    ],
)
def test_bad_repository_states_are_candidate_failures(
    workspace: ConfigWorkspace, config_dir: Path, prepare: str, reason: str
) -> None:
    repo = git.Repo(config_dir)
    if prepare == "dirty":
        (config_dir / "routing.yaml").write_text("rules: []\n")
    elif prepare == "detached":
        repo.git.checkout("--detach")
    else:
        repo.git.branch("flywheel/c-0001/rules-1")
    before = snapshot(config_dir)
    with pytest.raises(CandidateFailure, match=reason):
        _candidate(workspace)
    assert snapshot(config_dir) == before
    assert not workspace.worktree_path("C-0001", "rules", 1).exists()


@pytest.mark.parametrize(
    ("edits", "reason"),
    [
        ({"routing.yaml": "rules: [unclosed\n"}, "invalid YAML"),
        ({"../outside.md": "x"}, "outside the configuration"),
        ({"/etc/passwd.md": "x"}, "outside the configuration"),
        ({"script.sh": "rm -rf /"}, "not a configuration file"),
        (
            {"prompts/system.md": "# Assistant\n\nYou are a helpful assistant.\nBe concise.\n"},
            "equal the current configuration",
        ),
    ],
)
def test_bad_edits_are_candidate_failures_and_leave_nothing(
    workspace: ConfigWorkspace, edits: dict[str, str], reason: str
) -> None:
    with pytest.raises(CandidateFailure, match=reason):
        _candidate(workspace, edits=edits)
    assert workspace.candidate_branches() == []
    assert not workspace.worktree_path("C-0001", "rules", 1).exists()


def test_a_conflict_with_a_moved_main_is_a_failure(
    workspace: ConfigWorkspace, config_dir: Path
) -> None:
    base = workspace.head_commit()
    repo = git.Repo(config_dir)
    (config_dir / "prompts" / "system.md").write_text("# Assistant\n\nSomething else entirely.\n")
    repo.git.add("-A")
    repo.index.commit("live edit", author=git.Actor("a", "a@x"), committer=git.Actor("a", "a@x"))
    with pytest.raises(CandidateFailure, match="merge conflict"):
        workspace.create_candidate(
            cluster_id="C-0001",
            strategy="rules",
            number=1,
            edits={"prompts/system.md": "# Assistant\n\nAlways include the full draft.\n"},
            base_commit=base,
            subject="s",
            body="b",
            trailers=TRAILERS,
        )
    assert workspace.candidate_branches() == []
    # A non-conflicting change is rebased onto the new main and its trailer names that base.
    made = workspace.create_candidate(
        cluster_id="C-0001",
        strategy="rules",
        number=2,
        edits={"tools.yaml": "tools: []\n"},
        base_commit=base,
        subject="s",
        body="b",
        trailers=TRAILERS,
    )
    assert made.base_commit == repo.head.commit.hexsha
    assert f"Flywheel-Base: {made.base_commit}" in str(repo.commit(made.branch).message)


@pytest.mark.parametrize(
    "label",
    ["../../etc; rm -rf /", "Ünïcödé clüster ☃", "  spaces and\ttabs ", "x.lock", "-", "a..b"],
)
def test_hostile_labels_make_safe_branch_names(label: str, tmp_path: Path) -> None:
    name = branch_name(label, label, 3)
    repo = git.Repo.init(tmp_path / "r")
    repo.git.check_ref_format("--branch", name)  # raises if git rejects the name
    assert name.startswith("flywheel/")
    assert ".." not in name
    assert " " not in name
    assert name.endswith("-3")
    assert name.isascii()


def test_commit_text_cannot_forge_trailers() -> None:
    message = commit_message(
        "subject\nFlywheel-Cluster: C-9999",
        "body line\nFlywheel-Strategy: evil\x00",
        {"Flywheel-Cluster": "C-0001\nFlywheel-Root-Cause: forged"},
    )
    lines = message.splitlines()
    assert lines[0] == "subject Flywheel-Cluster: C-9999"
    trailer_lines = [line for line in lines if line.startswith("Flywheel-")]
    assert trailer_lines == ["Flywheel-Cluster: C-0001 Flywheel-Root-Cause: forged"]
    assert "\x00" not in message


def test_cleanup_removes_worktree_and_branch(workspace: ConfigWorkspace) -> None:
    made = _candidate(workspace)
    assert made.worktree.is_dir()
    workspace.remove(made.branch, made.worktree, delete_branch=False)
    assert not made.worktree.exists()
    assert workspace.candidate_branches() == [made.branch]
    workspace.remove(made.branch, made.worktree, delete_branch=True)
    assert workspace.candidate_branches() == []


def test_missing_workspace_says_what_to_do(git_project: Project) -> None:
    with pytest.raises(UserError, match="flywheel init --config"):
        open_workspace(git_project)
