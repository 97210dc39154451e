"""Replay runs: the runs gated candidates cite; nightly history and drift are not built yet."""

from __future__ import annotations

import streamlit as st

from ui._auth import current_user
from ui._context import store
from ui._queries import replay_runs

current_user()
db = store()
st.title("Replay runs")
st.info(
    "The nightly replay of main (its history and drift over time) is not built yet. "
    "Below are the replay runs behind the candidates in the approval queue."
)
runs = replay_runs(db)
if runs:
    st.dataframe(
        [{**run, "gated_at": run["gated_at"].isoformat(timespec="minutes")} for run in runs],
        hide_index=True,
        width="stretch",
    )
else:
    st.write("No replay run recorded yet.")
