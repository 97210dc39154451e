"""Fixtures: a real git configuration repository in a project."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.project import Project, init_project
from optimizers import ConfigWorkspace, adopt_or_init_config_repo
from tests.helpers.optimizers import write_config


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return write_config(tmp_path / "agent-config")


@pytest.fixture
def git_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project on SQLite, for tests about git rather than the database backend."""
    monkeypatch.setenv("FLYWHEEL_DATABASE_URL", f"sqlite:///{tmp_path}/git-project.db")
    created, _ = init_project(tmp_path / "git-project")
    return created


@pytest.fixture
def workspace(git_project: Project, config_dir: Path) -> ConfigWorkspace:
    return adopt_or_init_config_repo(git_project, config_dir)
