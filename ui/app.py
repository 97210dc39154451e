"""The Flywheel app (`flywheel ui`): sign-in, then the pages, each a thin layer over the API."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui._auth import session_user, sidebar_identity, sign_in_page

#: The page scripts. Not ``pages/``: beside the main script that name makes Streamlit route a
#: server's first page load by file name (its older multipage mode), skipping this script, its
#: navigation and its sign-in, until some session has run this script once.
HERE = Path(__file__).parent / "views"
#: (script, title, URL path); the first is the default page.
PAGES = (
    ("this_week.py", "This week", "this_week"),
    ("clusters.py", "Clusters", "clusters"),
    ("traces.py", "Traces", "traces"),
    ("approvals.py", "Approvals", "approvals"),
    ("datasets.py", "Datasets", "datasets"),
    ("replay_runs.py", "Replay runs", "replay_runs"),
    ("exports.py", "Exports", "exports"),
    ("audit.py", "Audit log", "audit"),
)

st.set_page_config(page_title="Flywheel", layout="wide")
user = session_user()
if user is None:
    # Until someone signs in, every page's URL shows only the sign-in form: no other page is
    # routable. A pasted link or a reload keeps its path and query, so once signed in the
    # page it named opens (a page is known by its URL path).
    st.navigation(
        [
            st.Page(sign_in_page, title="Sign in", url_path=path, default=n == 0)
            for n, (_, _, path) in enumerate(PAGES)
        ],
        position="hidden",
    ).run()
    st.stop()
sidebar_identity(user)
st.navigation(
    [
        st.Page(HERE / script, title=title, url_path=path, default=n == 0)
        for n, (script, title, path) in enumerate(PAGES)
    ]
).run()
