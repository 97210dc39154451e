"""Local users: argon2 hashes (salted), roles, sign-in checks, and `flywheel users add`."""

from __future__ import annotations

import json
import stat

import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.errors import UserError
from flywheel.project import Project
from ui import Role, add_user, authenticate, users_path
from ui._users import load_users

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
    result = runner.invoke(
        app,
        ["users", "add", "alice", "--role", "approver", "--password-stdin", "--json"],
        input="s3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["role"] == "approver"
    path = users_path(project.data_dir)
    assert authenticate(path, "alice", "s3cret-pass") is not None
    short = runner.invoke(app, ["users", "add", "bob", "--password-stdin"], input="short\n")
    assert short.exit_code == 1
    assert "at least 8 characters" in short.output
    bad = runner.invoke(app, ["users", "add", "bob", "--role", "boss", "--password-stdin"])
    assert bad.exit_code == 1
    assert "valid roles" in bad.output


def test_five_wrong_passwords_lock_the_name_for_a_while() -> None:
    from ui._lockout import SignInGuard

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
