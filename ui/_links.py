"""Links between pages that keep the session: a trace opens its trace, a cluster its cluster.

A page's state that a reviewer would share or keep across a reload lives in the URL's query
parameters (``/clusters?cluster=C-0003``, ``/traces?trace=t-12``,
``/approvals?candidate=12``). Links are `st.page_link` (navigation inside the signed-in session,
where a Markdown link would open a new tab and a new session). Run alone (a page script in a
test, outside `st.navigation`), a link degrades to its text.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from ui._render import plain

PAGES_DIR = Path(__file__).parent / "views"
#: Query parameter each page reads, and the page that shows it.
TARGETS = {"cluster": "clusters", "trace": "traces", "candidate": "approvals"}


def _page_path(page: str) -> str:
    """The page's script path as `st.page_link` wants it: relative to the main script."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    target = PAGES_DIR / f"{page}.py"
    ctx = get_script_run_ctx()
    if ctx is None or not ctx.main_script_path:
        return str(target)
    return os.path.relpath(target, Path(ctx.main_script_path).parent)


def link(kind: str, value: str, label: str | None = None) -> None:
    """A link that opens ``value`` (a cluster, trace or candidate id) on its page."""
    text = plain(label if label is not None else value, limit=160)
    try:
        st.page_link(_page_path(TARGETS[kind]), label=text, query_params={kind: value})
    except StreamlitAPIException:  # not inside the app's navigation
        st.markdown(text)


def go(kind: str, value: str) -> None:
    """Open ``value`` on its page now (a click on a table row)."""
    try:
        st.switch_page(_page_path(TARGETS[kind]), query_params={kind: value})
    except StreamlitAPIException:  # not inside the app's navigation: stay, remember it
        st.query_params[kind] = value


def param(kind: str) -> str | None:
    """The page's query parameter, stripped; None when absent or blank."""
    value = st.query_params.get(kind)
    return value.strip() or None if isinstance(value, str) else None


def adopt(kind: str, widget_key: str, choices: list[str]) -> str | None:
    """Let a new ``?kind=value`` in the URL pick the widget's value, once per new value.

    The widget keeps the user's later picks (the URL follows them through `remember`); a
    widget drawn afresh (the page opened again, by a link or the sidebar) takes the URL's;
    matching is case-insensitive, so ``?cluster=c-0003`` opens ``C-0003``. Returns the value
    when it names none of the choices (for the page to say so), else None.
    """
    wanted = param(kind)
    seen_key = f"_{kind}_from_url"
    if wanted is None or (
        st.session_state.get(seen_key) == wanted and widget_key in st.session_state
    ):
        return None
    st.session_state[seen_key] = wanted
    by_folded = {choice.casefold(): choice for choice in choices}
    match = by_folded.get(wanted.casefold())
    if match is None:
        return wanted
    st.session_state[widget_key] = match
    return None


def remember(kind: str, value: str) -> None:
    """Put the page's current pick in the URL (so a reload or a shared link shows it)."""
    if st.query_params.get(kind) != value:
        st.query_params[kind] = value
    st.session_state[f"_{kind}_from_url"] = value
