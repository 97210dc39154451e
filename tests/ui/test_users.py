"""Local users: argon2 hashes (salted), roles, sign-in checks, and `flywheel users add`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.errors import UserError
from flywheel.project import Project
from ui import Role, add_user, authenticate, users_path
from ui.approvals import load_users

runner = CliRunner()


def test_passwords_are_stored_as_salted_argon2_hashes(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "users.json"
    add_user(path, "alice", Role.approver, "correct horse")
    add_user(path, "bob", Role.viewer, "correct horse")
    users = load_users(path).users
    hashes = [users["alice"].password_hash, users["bob"].password_hash]
    assert all(h and h.startswith("$argon2id$") for h in hashes)
    assert hashes[0] != hashes[1]
    assert "correct horse" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    alice = authenticate(path, "alice", "correct horse")
    assert alice is not None
    assert alice.role is Role.approver
    assert authenticate(path, "alice", "wrong password") is None
    assert authenticate(path, "nobody", "correct horse") is None


def test_roles_are_ordered_and_unknown_roles_list_the_valid_ones() -> None:
    assert Role.admin.allows(Role.approver)
    assert Role.approver.allows(Role.reviewer)
    assert not Role.reviewer.allows(Role.approver)
    with pytest.raises(UserError, match="valid roles: viewer, reviewer, approver, admin"):
        Role.parse("owner")


def test_cli_users_add_reads_the_password_from_stdin(project: Project) -> None:
    root = runner.invoke(
        app, ["users", "add", "root", "--role", "admin", "--password-stdin"], input="root-pass\n"
    )
    assert root.exit_code == 0, root.output
    as_root = ["--as", "root"]
    env = {"FLYWHEEL_PASSWORD": "root-pass"}
    result = runner.invoke(
        app,
        ["users", "add", "alice", "--role", "approver", "--password-stdin", "--json", *as_root],
        input="s3cret-pass\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["role"] == "approver"
    path = users_path(project.data_dir)
    assert authenticate(path, "alice", "s3cret-pass") is not None
    short = runner.invoke(
        app, ["users", "add", "bob", "--password-stdin", *as_root], input="short\n", env=env
    )
    assert short.exit_code == 1
    assert "at least 8 characters" in short.output
    bad = runner.invoke(app, ["users", "add", "bob", "--role", "boss", "--password-stdin"])
    assert bad.exit_code == 1
    assert "valid roles" in bad.output


def test_a_new_project_bootstraps_an_admin_first_and_every_user_change_is_audited(
    project: Project,
) -> None:
    """Probe: `users add` minted approvers for anyone with a shell, and left no trace."""
    from ui import audit_records

    minted = runner.invoke(
        app,
        ["users", "add", "mallory", "--role", "approver", "--password-stdin"],
        input="mallory-pass\n",
    )
    assert minted.exit_code == 1
    assert "no admin yet" in minted.output
    assert "mallory" not in load_users(users_path(project.data_dir)).users
    runner.invoke(
        app, ["users", "add", "root", "--role", "admin", "--password-stdin"], input="root-pass\n"
    )
    runner.invoke(
        app,
        ["users", "add", "alice", "--role", "approver", "--password-stdin", "--as", "root"],
        input="alice-pass\n",
        env={"FLYWHEEL_PASSWORD": "root-pass"},
    )
    with project.open_store() as store:
        records = [(r.actor, r.action, r.subject, r.detail["role"]) for r in audit_records(store)]
    assert records == [
        ("root", "user.add", "alice", "approver"),
        ("root", "user.add", "root", "admin"),
    ]


def test_automated_approvers_sign_in_only_with_their_stored_credential(tmp_path: Path) -> None:
    """`--auto-approve-as NAME` used to act as NAME without any check; now NAME is an account
    the project made, with a stored credential, and never a person's account."""
    from flywheel.users import ensure_automated_account, sign_in_automated

    password = ensure_automated_account(tmp_path, "bot-1")
    assert ensure_automated_account(tmp_path, "bot-1") == password  # made once
    bot = sign_in_automated(tmp_path, "bot-1")
    assert (bot.name, bot.role, bot.via) == ("bot-1", Role.approver, "stored-credential")
    add_user(users_path(tmp_path), "alice", Role.approver, "alice-password")
    with pytest.raises(UserError, match="no stored credential"):
        sign_in_automated(tmp_path, "alice")
    with pytest.raises(UserError, match="a person"):
        ensure_automated_account(tmp_path, "alice")
    (tmp_path / "credentials" / "bot-1").write_text("tampered\n")
    with pytest.raises(UserError, match="does not match"):
        sign_in_automated(tmp_path, "bot-1")


def test_five_wrong_passwords_lock_the_name_for_a_while() -> None:
    from ui.approvals import SignInGuard

    now = [1000.0]
    guard = SignInGuard(limit=5, window=900, clock=lambda: now[0])
    for _ in range(4):
        guard.failed("users.toml", "Alice")
    assert guard.locked_for("users.toml", "alice") == 0
    guard.failed("users.toml", "alice ")
    assert guard.locked_for("users.toml", "ALICE") == 900
    assert guard.locked_for("users.toml", "bob") == 0
    assert guard.locked_for("other.toml", "alice") == 0
    now[0] += 899
    assert guard.locked_for("users.toml", "alice") == 1
    now[0] += 1
    assert guard.locked_for("users.toml", "alice") == 0
    guard.failed("users.toml", "alice")
    guard.succeeded("users.toml", "alice")
    assert guard.locked_for("users.toml", "alice") == 0
