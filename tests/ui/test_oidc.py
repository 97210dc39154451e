"""Which sign-in the app offers: the identity provider's when [auth] is configured, else the
local users file. No identity provider is reachable here, so the login redirect itself is not
exercised: AppTest seeds `st.user` as Streamlit would after a successful OIDC login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from flywheel.project import Project, init_project
from ui import Role, add_user, users_path

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
AUTH: dict[str, Any] = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "flywheel",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://idp.invalid/.well-known/openid-configuration",
}


@pytest.fixture
def oidc_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    project, _ = init_project(tmp_path / "project")
    monkeypatch.setenv("FLYWHEEL_PROJECT", str(project.root))
    path = users_path(project.data_dir)
    add_user(path, "ann@example.com", Role.approver, None)  # OIDC only: no password
    add_user(path, "alice", Role.admin, "alice-password")
    return project


def _app(auth: dict[str, Any] | None, user: dict[str, Any] | None = None) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60)
    if auth is not None:
        app.secrets["auth"] = auth
    if user is not None:
        app.user = user
    return app


def test_with_auth_configured_only_the_identity_provider_login_is_offered(
    oidc_project: Project,
) -> None:
    app = _app(AUTH, {"is_logged_in": False}).run()
    assert not app.exception, app.exception
    assert [b.label for b in app.button] == ["Log in"]
    assert not app.text_input  # no password form: local accounts cannot sign in
    assert "flywheel_user" not in app.session_state


def test_without_auth_the_local_users_file_is_the_sign_in(oidc_project: Project) -> None:
    app = _app(None).run()
    assert not app.exception, app.exception
    assert {t.label for t in app.text_input} == {"User name", "Password"}
    assert not [b for b in app.button if b.label.startswith("Log in")]


def test_each_named_provider_gets_its_own_login_button(oidc_project: Project) -> None:
    providers = {
        "cookie_secret": "x",
        "redirect_uri": AUTH["redirect_uri"],
        "google": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")},
        "okta": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")},
    }
    app = _app(providers, {"is_logged_in": False}).run()
    assert [b.label for b in app.button] == ["Log in with google", "Log in with okta"]


@pytest.mark.parametrize(
    ("email", "role"), [("ann@example.com", "approver"), ("stranger@example.com", "viewer")]
)
def test_an_oidc_user_gets_the_role_of_their_e_mail_and_strangers_are_viewers(
    oidc_project: Project, email: str, role: str
) -> None:
    app = _app(AUTH, {"is_logged_in": True, "email": email, "sub": "123"}).run()
    assert not app.exception, app.exception
    assert app.session_state["flywheel_user"] == {"name": email, "role": role, "via": "oidc"}
    assert any(t.value == "This week" for t in app.title)
