"""The folders Flywheel makes under its data folder are 0700, whatever the umask: the
optimizer's workspace record and worktrees (candidate configurations written from traces),
materialised baselines (exports/), the users file's folder and the audit anchors' folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from flywheel.chain import ChainAnchors
from flywheel.users import Role, add_user, users_path
from optimizers._provider import export_commit
from optimizers._workspace import ConfigWorkspace
from tests.helpers.optimizers import fresh_project


@pytest.fixture(autouse=True)
def _loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the common default: without care, folders come out 0755
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _candidate(workspace: ConfigWorkspace) -> Path:
    made = workspace.create_candidate(
        cluster_id="C-0001",
        strategy="rules",
        number=1,
        edits={"prompts/system.md": "Always search first.\n"},
        base_commit=workspace.head_commit(),
        subject="search first",
        body="",
        trailers={},
    )
    return Path(made.worktree)


def test_workspace_worktrees_and_exports_are_0700(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, workspace = fresh_project(tmp_path, "p", monkeypatch)
    data = project.data_dir
    info = data / "optimizers" / "workspace.json"
    assert _mode(info.parent) == 0o700
    assert _mode(info) == 0o600
    assert _mode(data / "worktrees") == 0o700

    worktree = _candidate(workspace)
    assert worktree.is_relative_to(data / "worktrees")
    assert _mode(worktree.parent) == 0o700  # worktrees/c-0001

    exported = export_commit(project, workspace, workspace.head_commit())
    assert _mode(exported.parent) == 0o700  # exports/
    assert _mode(exported) == 0o700


def test_users_and_anchor_folders_are_made_0700(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / ".flywheel"
    add_user(users_path(data), "alice", Role.approver, "correct horse")
    assert _mode(data) == 0o700
    assert _mode(tmp_path / "fresh") == 0o700  # made by Flywheel too

    anchors = tmp_path / "other" / ".flywheel"
    os.environ.pop("FLYWHEEL_AUDIT_KEY", None)
    ChainAnchors(anchors).key()
    assert _mode(anchors) == 0o700
