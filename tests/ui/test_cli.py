"""`flywheel approve / reject --as USER` apply the same rules and audit as the app."""

from __future__ import annotations

import json

import git
import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.project import Project
from tests.ui.conftest import gated
from ui import Role, StoreQueue, add_user, users_path, verify_audit
from ui._users import authenticate, ensure_demo_account

runner = CliRunner()


@pytest.fixture
def people(project: Project) -> Project:
    path = users_path(project.data_dir)
    add_user(path, "alice", Role.approver, "alice-password")
    add_user(path, "victor", Role.viewer, "victor-password")
    return project


def test_cli_approve_ships_and_refuses_self_approval(
    people: Project, config_repo: git.Repo
) -> None:
    with people.open_store() as store:
        gated(store, config_repo, "mine", author="alice")
        gated(store, config_repo, "theirs")
    own = runner.invoke(app, ["approve", "mine", "--as", "alice"])
    assert own.exit_code == 1
    assert "authored this candidate" in own.output
    viewer = runner.invoke(app, ["approve", "theirs", "--as", "victor"])
    assert viewer.exit_code == 1
    assert "needs the approver role" in viewer.output
    nobody = runner.invoke(app, ["approve", "theirs", "--as", "zed"])
    assert nobody.exit_code == 1
    assert "no user 'zed'" in nobody.output

    result = runner.invoke(app, ["approve", "theirs", "--as", "alice", "-m", "ok", "--json"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "shipped"
    assert outcome["merge_sha"] == config_repo.heads.main.commit.hexsha

    rejected = runner.invoke(app, ["reject", "mine", "--as", "alice", "-m", "no"])
    assert rejected.exit_code == 0, rejected.output
    with people.open_store() as store:
        assert StoreQueue(store).get("mine").status == "rejected"
        assert verify_audit(store).records == 5  # refused x2, approve, ship, reject


def test_the_demo_account_is_an_approver_that_signs_in_and_is_made_once(project: Project) -> None:
    name, password = ensure_demo_account(project.data_dir)
    again = ensure_demo_account(project.data_dir)
    assert again == (name, password)  # a second `make demo` prints the same credentials
    user = authenticate(users_path(project.data_dir), name, password)
    assert user is not None
    assert user.role == Role.approver
    assert authenticate(users_path(project.data_dir), name, password + "x") is None
    assert oct((project.data_dir / "demo-credentials").stat().st_mode & 0o777) == "0o600"
