"""The Flywheel app (`flywheel ui`): sign-in, then the pages, each a thin layer over the API."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui._auth import session_user, sidebar_identity, sign_in_page

HERE = Path(__file__).parent / "pages"

st.set_page_config(page_title="Flywheel", layout="wide")
user = session_user()
if user is None:
    # Until someone signs in, the only page is the sign-in form: no other page is routable.
    st.navigation([st.Page(sign_in_page, title="Sign in")], position="hidden").run()
    st.stop()
sidebar_identity(user)
navigation = st.navigation(
    [
        st.Page(HERE / "this_week.py", title="This week", default=True),
        st.Page(HERE / "clusters.py", title="Clusters"),
        st.Page(HERE / "traces.py", title="Traces"),
        st.Page(HERE / "approvals.py", title="Approvals"),
        st.Page(HERE / "datasets.py", title="Datasets"),
        st.Page(HERE / "replay_runs.py", title="Replay runs"),
        st.Page(HERE / "exports.py", title="Exports"),
        st.Page(HERE / "audit.py", title="Audit log"),
    ]
)
navigation.run()
