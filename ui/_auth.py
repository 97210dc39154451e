"""Sign-in for the app: Streamlit's OIDC login when configured, else the local users file.

OIDC is configured by an ``[auth]`` section in the project's ``.streamlit/secrets.toml``
(Streamlit's own format: redirect_uri, cookie_secret, client_id, client_secret,
server_metadata_url, or one ``[auth.NAME]`` table per provider; it needs the Authlib package).
Then the app offers only the identity provider's login (`st.login`) and reads `st.user`; the
person's role comes from the users file entry named by their e-mail (`flywheel users add EMAIL
--role ... --no-password`); unknown people are viewers. Without ``[auth]``, the local users
file's names and argon2 password hashes are the sign-in, and a password sign-in survives a
reload through a signed, expiring session cookie (`ui._session`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from ui._context import data_dir, project
from ui._render import plain
from ui._session import COOKIE, SessionSigner, clear_cookie_script, set_cookie_script
from ui.approvals import (
    Role,
    SignInGuard,
    User,
    find_user,
    load_users,
    password_sign_in,
    users_path,
)

SESSION_KEY = "flywheel_user"
#: The session token of this browser session (set on a password sign-in or a restore).
TOKEN_KEY = "_flywheel_session_token"
#: Set by sign-out: the cookie this session started with is not used again.
SIGNED_OUT_KEY = "_flywheel_signed_out"
#: Wrong passwords per user name, for this server process.
GUARD = SignInGuard()


def auth_section() -> Mapping[str, Any]:
    """The ``[auth]`` section of the app's secrets ({} when there is none).

    Read through ``st.secrets`` (the server's secrets.toml files: the project folder's
    ``.streamlit/secrets.toml`` since `flywheel ui` starts the server there).
    """
    from streamlit.errors import StreamlitSecretNotFoundError

    try:
        section = st.secrets.get("auth")
    except StreamlitSecretNotFoundError:  # no secrets file at all
        return {}
    return section if isinstance(section, Mapping) else {}


def oidc_configured() -> bool:
    return bool(auth_section())


def oidc_providers(section: Mapping[str, Any]) -> list[str | None]:
    """Named providers (``[auth.google]``...), or [None] for a single unnamed one."""
    named: list[str | None] = [
        str(name) for name, value in sorted(section.items()) if isinstance(value, Mapping)
    ]
    return [None] if "client_id" in section or not named else named


def oidc_role(email: str) -> User:
    """The users-file entry named by the OIDC e-mail gives the role; anyone else is a viewer."""
    return find_user(users_path(data_dir()), email) or User(name=email, role=Role.viewer)


def _oidc_user() -> User | None:
    if not st.user.get("is_logged_in", False):
        st.title("Flywheel")
        st.caption("Sign in with your organisation's identity provider.")
        for provider in oidc_providers(auth_section()):
            label = f"Log in with {provider}" if provider else "Log in"
            args = (provider,) if provider else ()
            st.button(label, on_click=st.login, args=args, key=f"oidc_{provider or 'default'}")
        return None
    email = str(st.user.get("email") or st.user.get("sub") or "").strip()
    if not email:
        st.error("The identity provider sent neither an e-mail nor a subject; ask an admin.")
        return None
    return oidc_role(email).model_copy(update={"via": "oidc"})


def _local_user() -> User | None:
    path = users_path(data_dir())
    st.title("Flywheel")
    if not load_users(path).users:
        st.warning("No users yet. Create one: flywheel users add NAME --role admin")
        return None
    with st.form("sign_in"):
        name = st.text_input("User name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        attempt = password_sign_in(GUARD, path, name, password)
        if attempt.locked_for > 0:
            st.error(
                f"Too many wrong passwords for this user name. Try again in "
                f"{max(1, round(attempt.locked_for / 60))} min."
            )
            return None
        if attempt.user is not None:
            return attempt.user.model_copy(update={"via": "session"})
        st.error("Wrong user name or password.")
    return None


def _signer() -> SessionSigner:
    return SessionSigner(data_dir())


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no request behind this session (a test harness)
        return None
    return value if isinstance(value, str) and value else None


def _restored_user() -> User | None:
    """The user of a valid session cookie sent with this page load (a reload, a link)."""
    if st.session_state.get(SIGNED_OUT_KEY) or oidc_configured():
        return None
    token = _cookie()
    if token is None:
        return None
    user = _signer().user(token)
    if user is None:
        return None
    st.session_state[SESSION_KEY] = user.model_dump(mode="json")
    st.session_state[TOKEN_KEY] = token
    return user


def _end_session() -> None:
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state[SIGNED_OUT_KEY] = True


def session_user() -> User | None:
    """The signed-in user of this browser session, restored from its cookie after a reload.

    A password session is checked on every run: once its token expires, is signed out (in
    any tab), or its user is removed or changes password, the session ends; the role is the
    users file's current one.
    """
    saved = st.session_state.get(SESSION_KEY)
    if saved is None:
        return _restored_user()
    token = st.session_state.get(TOKEN_KEY)
    if isinstance(token, str):
        current = _signer().user(token)
        if current is None:
            _end_session()
            return None
        return current
    return User.model_validate(saved)


def keep_session_cookie() -> None:
    """Store this session's token in the browser unless the page load already sent it."""
    token = st.session_state.get(TOKEN_KEY)
    if isinstance(token, str) and token != _cookie():
        hours = project().settings.ui.session_hours
        with st.sidebar:
            st.html(set_cookie_script(token, hours), unsafe_allow_javascript=True)


def sign_in_page() -> None:
    """The sign-in form (or OIDC button); on success remembers the user and reruns."""
    if _cookie() is not None or st.session_state.get(SIGNED_OUT_KEY):
        # signed out, or the cookie was expired, forged or of a removed user: drop it
        st.html(clear_cookie_script(), unsafe_allow_javascript=True)
    user = _oidc_user() if oidc_configured() else _local_user()
    if user is not None:
        st.session_state[SESSION_KEY] = user.model_dump(mode="json")
        st.session_state.pop(SIGNED_OUT_KEY, None)
        if user.via == "session":
            hours = project().settings.ui.session_hours
            st.session_state[TOKEN_KEY] = _signer().issue(user, hours)
        st.rerun()


def current_user() -> User:
    """The signed-in user; shows the sign-in form and stops the page when there is none."""
    user = session_user()
    if user is None:
        sign_in_page()
        st.stop()
        raise AssertionError("st.stop() does not return")
    return user


def sidebar_identity(user: User) -> None:
    with st.sidebar:
        st.caption(f"Signed in as {plain(user.name)} ({user.role.value})")
        if st.button("Sign out", key="sign_out"):
            token = st.session_state.get(TOKEN_KEY)
            if isinstance(token, str):
                _signer().revoke(token)  # a copy of the cookie is refused from now on
            _end_session()
            if oidc_configured():
                st.logout()
            st.rerun()
    keep_session_cookie()
