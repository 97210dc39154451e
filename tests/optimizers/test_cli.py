"""`flywheel candidates` and `flywheel candidate show|reject` against real rows and branches."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from flywheel.cli._app import app
from flywheel.project import Project
from optimizers import InlineExecutor, adopt_or_init_config_repo, optimize
from tests.helpers.optimizers import sample_clusters


def test_candidates_list_show_and_reject(project: Project, config_dir: Path) -> None:
    workspace = adopt_or_init_config_repo(project, config_dir)
    with project.open_store() as store:
        result = optimize(store, workspace, sample_clusters(), executor=InlineExecutor())
    runner = CliRunner()
    listed = runner.invoke(app, ["candidates", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["candidate_id"] for r in rows] == [c.candidate_id for c in result.candidates]
    assert set(rows[0]) >= {
        "candidate_id",
        "cluster_id",
        "strategy",
        "branch",
        "base_commit",
        "files_changed",
        "rationale",
    }
    first = result.candidates[0]
    shown = runner.invoke(app, ["candidate", "show", str(first.candidate_id), "--json"])
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.stdout)
    assert detail["branch"] == first.branch
    assert f"+++ b/{first.files_changed[0]}" in detail["diff"]
    rejected = runner.invoke(app, ["candidate", "reject", str(first.candidate_id)])
    assert rejected.exit_code == 0, rejected.output
    assert first.branch not in workspace.candidate_branches()
    missing = runner.invoke(app, ["candidate", "show", "999"])
    assert missing.exit_code == 1
    assert "no candidate 999" in missing.stderr
