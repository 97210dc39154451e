"""`flywheel approve / reject --as USER` apply the same rules and audit as the app, and act
only as a user who proved who they are (`flywheel.users`, trust model)."""

from __future__ import annotations

import json

import git
import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.errors import UserError
from flywheel.project import Project
from flywheel.users import (
    PASSWORD_ENV,
    authenticate,
    ensure_demo_account,
    load_users,
    stored_credential,
)
from tests.helpers.ui import gated
from ui import Role, StoreQueue, add_user, audit_records, users_path, verify_audit

runner = CliRunner()


def _as(name: str) -> dict[str, str]:
    """The environment of a command run by ``name`` who knows their password."""
    return {PASSWORD_ENV: f"{name}-password"}


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
    own = runner.invoke(app, ["approve", "mine", "--as", "alice"], env=_as("alice"))
    assert own.exit_code == 1
    assert "authored this candidate" in own.output
    viewer = runner.invoke(app, ["approve", "theirs", "--as", "victor"], env=_as("victor"))
    assert viewer.exit_code == 1
    assert "needs the approver role" in viewer.output
    nobody = runner.invoke(app, ["approve", "theirs", "--as", "zed"], env=_as("zed"))
    assert nobody.exit_code == 1
    assert "no user 'zed'" in nobody.output

    result = runner.invoke(
        app, ["approve", "theirs", "--as", "alice", "-m", "ok", "--json"], env=_as("alice")
    )
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "shipped"
    assert outcome["merge_sha"] == config_repo.heads.main.commit.hexsha

    rejected = runner.invoke(
        app,
        ["reject", "mine", "--as", "alice", "--password-stdin", "-m", "no"],
        input="alice-password\n",
    )
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
    stored = project.data_dir / "credentials" / name
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    assert stored_credential(project.data_dir, name) == password


def test_as_without_the_users_password_does_nothing(people: Project, config_repo: git.Repo) -> None:
    """Probe: `--as NAME` used to act as NAME with no password at all."""
    with people.open_store() as store:
        gated(store, config_repo, "theirs")
    bare = runner.invoke(app, ["approve", "theirs", "--as", "alice"], env={PASSWORD_ENV: ""})
    assert bare.exit_code == 1
    assert "needs alice's password" in bare.output
    wrong = runner.invoke(app, ["approve", "theirs", "--as", "alice"], env=_as("mallory"))
    assert wrong.exit_code == 1
    assert "wrong password for alice" in wrong.output
    with people.open_store() as store:
        assert StoreQueue(store).get("theirs").status == "gated"
        assert audit_records(store) == []  # nobody acted


def test_the_demo_approver_approves_from_the_shell_with_its_stored_credential(
    project: Project, config_repo: git.Repo
) -> None:
    """README: `flywheel approve 5 --as demo-approver` works after `make demo`."""
    ensure_demo_account(project.data_dir)
    with project.open_store() as store:
        gated(store, config_repo, "5")
    result = runner.invoke(app, ["approve", "5", "--as", "demo-approver"], env={PASSWORD_ENV: ""})
    assert result.exit_code == 0, result.output
    assert "shipped" in result.output
    with project.open_store() as store:
        approval = next(r for r in audit_records(store) if r.action == "approve")
    assert approval.detail["via"] == "stored-credential"


def test_a_stored_credential_others_can_read_is_refused(project: Project) -> None:
    name, _ = ensure_demo_account(project.data_dir)
    (project.data_dir / "credentials" / name).chmod(0o644)
    with pytest.raises(UserError, match="mode 600"):
        stored_credential(project.data_dir, name)


def test_once_an_admin_exists_only_an_admin_adds_users(project: Project) -> None:
    """Probe: any shell user could mint a second approver with `users add`."""
    path = users_path(project.data_dir)
    add_user(path, "root", Role.admin, "root-password")
    add_user(path, "alice", Role.approver, "alice-password")
    minted = runner.invoke(
        app,
        ["users", "add", "alice2", "--role", "approver", "--password-stdin"],
        input="another-password\n",
    )
    assert minted.exit_code == 1
    assert "needs --as ADMIN" in minted.output
    by_alice = runner.invoke(
        app,
        ["users", "add", "alice2", "--role", "approver", "--password-stdin", "--as", "alice"],
        input="another-password\n",
        env=_as("alice"),
    )
    assert by_alice.exit_code == 1
    assert "needs an admin" in by_alice.output
    assert "alice2" not in load_users(path).users
    by_root = runner.invoke(
        app,
        ["users", "add", "alice2", "--role", "approver", "--password-stdin", "--as", "root"],
        input="another-password\n",
        env=_as("root"),
    )
    assert by_root.exit_code == 0, by_root.output
    assert authenticate(path, "alice2", "another-password") is not None


def test_a_demo_project_made_before_stored_credentials_keeps_its_demo_password(
    project: Project,
) -> None:
    add_user(users_path(project.data_dir), "demo-approver", Role.approver, "old-demo-pass")
    (project.data_dir / "demo-credentials").write_text("old-demo-pass\n")
    assert ensure_demo_account(project.data_dir) == ("demo-approver", "old-demo-pass")
    assert stored_credential(project.data_dir, "demo-approver") == "old-demo-pass"
    assert not (project.data_dir / "demo-credentials").exists()
