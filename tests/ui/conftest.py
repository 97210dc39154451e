"""Fixtures of the app's tests: a real configuration repository with a candidate branch."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from flywheel.project import Project
from tests.helpers.ui import XSS, commit_files


@pytest.fixture
def config_repo(tmp_path: Path) -> git.Repo:
    """A configuration repository whose main holds one prompt."""
    repo = git.Repo.init(tmp_path / "config", initial_branch="main")
    commit_files(repo, {"prompts/answer.md": "Answer the question.\n"}, "initial config")
    return repo


@pytest.fixture
def app_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A SQLite project with clusters, candidates, one trace full of markup, eval sets, case
    sets, replay runs and nightly drift (AppTest runs in this process, so the pages find it
    through FLYWHEEL_PROJECT)."""
    from flywheel.ingest import ingest_paths
    from flywheel.project import init_project
    from tests.helpers.app import seed_data_pages
    from tests.helpers.native import trace, write_lines
    from ui._bench import populate

    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    project, _ = init_project(tmp_path / "project")
    monkeypatch.setenv("FLYWHEEL_PROJECT", str(project.root))
    with project.open_store() as store:
        populate(store, traces=300, clusters=6, candidates=4)
        hostile = trace(
            9999,
            input=f"Summarize {XSS}",
            output=f"**bold** {XSS}",
            feedback=[{"kind": "comment", "comment": XSS}],
        )
        hostile["steps"][0]["name"] = XSS
        hostile["steps"].append(
            {"id": "x9", "type": "retriever", "name": "search", "output": [{"doc": XSS}]}
        )
        ingest_paths(store, [write_lines(tmp_path / "hostile.jsonl", [hostile])])
        seed_data_pages(store, tmp_path / "main-config", "t-9999")
    return project
