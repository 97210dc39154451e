"""A sign-in survives a reload through a signed, expiring token, and only a genuine one."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from flywheel.config import load_settings
from flywheel.project import Project
from ui._session import KEY_FILE, SessionSigner
from ui.approvals import Role, User, add_user, users_path

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / ".flywheel"
    add_user(users_path(folder), "alice", Role.approver, "alice-password")
    return folder


ALICE = User(name="alice", role=Role.approver)


def test_a_token_signs_its_user_in_with_the_role_from_the_users_file(data_dir: Path) -> None:
    signer = SessionSigner(data_dir)
    token = signer.issue(ALICE, hours=1)
    assert signer.user(token) == User(name="alice", role=Role.approver, via="session")
    add_user(users_path(data_dir), "alice", Role.viewer, None)  # demoted, password dropped
    assert signer.user(token) is None  # a user without that password has no session


def test_the_key_is_made_once_and_only_its_owner_may_read_it(data_dir: Path) -> None:
    signer = SessionSigner(data_dir)
    token = signer.issue(ALICE, hours=1)
    key = data_dir / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes().strip()) == 64
    key.chmod(0o644)
    assert SessionSigner(data_dir).user(token) is not None  # the same key, read again
    assert stat.S_IMODE(key.stat().st_mode) == 0o600  # and tightened


def test_a_forged_or_altered_token_is_refused(data_dir: Path, tmp_path: Path) -> None:
    signer = SessionSigner(data_dir)
    token = signer.issue(ALICE, hours=1)
    version, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["user"] = "root"
    claims["expires"] += 10 * 86400
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert signer.user(f"{version}.{altered}.{signature}") is None
    assert signer.user(f"{version}.{payload}.{signature[:-2]}AA") is None
    assert signer.user(f"{version}.{payload}") is None
    assert signer.user("") is None
    assert signer.user("v1.!!!.???") is None
    # Signed with another project's key (another data folder): refused here.
    other = tmp_path / "other" / ".flywheel"
    add_user(users_path(other), "alice", Role.admin, "alice-password")
    assert signer.user(SessionSigner(other).issue(ALICE, hours=1)) is None


def test_a_token_expires(data_dir: Path) -> None:
    clock = Clock()
    signer = SessionSigner(data_dir, clock=clock)
    token = signer.issue(ALICE, hours=2)
    clock.now += 2 * 3600 - 1
    assert signer.user(token) is not None
    clock.now += 1
    assert signer.user(token) is None
    clock.now -= 3 * 3600  # issued "in the future" for this clock
    assert signer.user(token) is None


def test_sign_out_revokes_the_token_and_only_that_one(data_dir: Path) -> None:
    clock = Clock()
    signer = SessionSigner(data_dir, clock=clock)
    first, second = signer.issue(ALICE, hours=1), signer.issue(ALICE, hours=1)
    assert signer.revoke(first)
    assert signer.user(first) is None
    assert SessionSigner(data_dir, clock=clock).user(first) is None  # kept on disk
    assert signer.user(second) is not None
    assert not signer.revoke("v1.forged.token")
    revoked = data_dir / "ui-sessions-revoked.json"
    assert stat.S_IMODE(revoked.stat().st_mode) == 0o600
    # Expired sessions leave the list when it is next written.
    clock.now += 3600
    third = signer.issue(ALICE, hours=1)
    signer.revoke(third)
    assert len(json.loads(revoked.read_text())) == 1


def test_an_unreadable_revocation_list_refuses_every_token(data_dir: Path) -> None:
    signer = SessionSigner(data_dir)
    token = signer.issue(ALICE, hours=1)
    (data_dir / "ui-sessions-revoked.json").write_text("{not json")
    assert signer.user(token) is None
    # The next sign-in starts afresh: a new key (older tokens stay dead), an empty list.
    fresh = signer.issue(ALICE, hours=1)
    assert signer.user(fresh) is not None
    assert signer.user(token) is None


def test_a_new_password_ends_every_older_session(data_dir: Path) -> None:
    signer = SessionSigner(data_dir)
    token = signer.issue(ALICE, hours=1)
    add_user(users_path(data_dir), "alice", Role.approver, "a-new-password")
    assert signer.user(token) is None


def test_session_hours_is_a_project_setting(tmp_path: Path) -> None:
    (tmp_path / "flywheel.toml").write_text("[ui]\nsession_hours = 0.5\n")
    assert load_settings(tmp_path).ui.session_hours == 0.5
    assert load_settings(tmp_path / "none").ui.session_hours == 12.0


def _sign_in(app_project: Project) -> tuple[AppTest, str]:
    add_user(users_path(app_project.data_dir), "alice", Role.approver, "alice-password")
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.text_input(key="sign_in_name").input("alice")
    app.text_input(key="sign_in_password").input("alice-password")
    app.button[0].click().run()
    token = app.session_state["_flywheel_session_token"]
    assert isinstance(token, str)
    return app, token


def test_a_reload_with_the_cookie_is_signed_in_and_one_without_is_not(
    app_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, token = _sign_in(app_project)
    assert not app.exception
    # The page stores the token in the browser (a cookie for the whole origin). (AppTest
    # draws no sidebar after the sign-in's rerun, so a session that has the token shows it.)
    signed_in = AppTest.from_file(str(APP), default_timeout=60)
    for key in ("flywheel_user", "_flywheel_session_token"):
        signed_in.session_state[key] = app.session_state[key]
    signed_in.run()
    scripts = [h.proto.body for h in signed_in.sidebar.get("html")]
    assert any(f"flywheel_session={token}" in s and "SameSite=Strict" in s for s in scripts)

    # A reload is a new session whose request carries the cookie.
    monkeypatch.setattr("ui._auth._cookie", lambda: token)
    reloaded = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not reloaded.exception
    assert any(t.value == "This week" for t in reloaded.title)
    assert reloaded.session_state["flywheel_user"]["name"] == "alice"

    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    monkeypatch.setattr("ui._auth._cookie", lambda: forged)
    refused = AppTest.from_file(str(APP), default_timeout=60).run()
    assert "flywheel_user" not in refused.session_state
    assert refused.text_input(key="sign_in_name") is not None
    assert any("flywheel_session=;" in h.proto.body for h in refused.get("html"))  # cleared


def test_a_signed_out_session_ends_in_every_tab_and_for_a_reload(
    app_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, token = _sign_in(app_project)
    monkeypatch.setattr("ui._auth._cookie", lambda: token)
    other_tab = AppTest.from_file(str(APP), default_timeout=60).run()
    assert other_tab.session_state["flywheel_user"]["name"] == "alice"
    # Sign-out revokes the session's token (the browser test clicks the button).
    assert SessionSigner(app_project.data_dir).revoke(token)
    for session in (app, other_tab):
        session.run()
        assert "flywheel_user" not in session.session_state
        assert session.text_input(key="sign_in_name") is not None
    reload = AppTest.from_file(str(APP), default_timeout=60).run()
    assert "flywheel_user" not in reload.session_state


def test_the_lockout_still_holds_with_sessions(app_project: Project) -> None:
    add_user(users_path(app_project.data_dir), "dave", Role.approver, "dave-password")
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.text_input(key="sign_in_name").input("dave")
    for n in range(5):
        app.text_input(key="sign_in_password").input(f"guess-{n}")
        app.button[0].click().run()
    app.text_input(key="sign_in_password").input("dave-password")
    app.button[0].click().run()
    assert "_flywheel_session_token" not in app.session_state  # no token while locked
    assert not (app_project.data_dir / KEY_FILE).exists()
