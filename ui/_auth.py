"""Sign-in for the app: Streamlit's OIDC login when configured, else the local users file.

OIDC is configured by an ``[auth]`` section in ``.streamlit/secrets.toml`` (Streamlit's own
format: redirect_uri, cookie_secret, client_id, client_secret, server_metadata_url; it needs
the Authlib package). The person's role then comes from the users file entry named by their
e-mail (`flywheel users add EMAIL --role ...` without a password); unknown people are viewers.
"""

from __future__ import annotations

import streamlit as st

from ui._context import data_dir
from ui._render import plain
from ui._users import Role, User, authenticate, find_user, load_users, users_path

SESSION_KEY = "flywheel_user"


def _oidc_configured() -> bool:
    from streamlit.auth_util import get_secrets_auth_section

    return bool(get_secrets_auth_section())


def _oidc_user() -> User | None:
    if not st.user.is_logged_in:
        st.title("Flywheel")
        st.button("Log in", on_click=st.login)
        return None
    email = str(st.user.get("email") or st.user.get("sub") or "")
    return find_user(users_path(data_dir()), email) or User(name=email, role=Role.viewer)


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
        user = authenticate(path, name, password)
        if user is not None:
            return user
        st.error("Wrong user name or password.")
    return None


def session_user() -> User | None:
    saved = st.session_state.get(SESSION_KEY)
    return User.model_validate(saved) if saved is not None else None


def sign_in_page() -> None:
    """The sign-in form (or OIDC button); on success remembers the user and reruns."""
    user = _oidc_user() if _oidc_configured() else _local_user()
    if user is not None:
        st.session_state[SESSION_KEY] = user.model_dump(mode="json")
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
            st.session_state.pop(SESSION_KEY, None)
            if _oidc_configured():
                st.logout()
            st.rerun()
