"""Replay runs: main's drift over time, the nightly history, and the replay runs themselves."""

from __future__ import annotations

import altair as alt
import streamlit as st

from ui._auth import current_user
from ui._charts import chart
from ui._context import store
from ui._history import main_drift, nightly_runs, nightly_stages, replay_run_rows
from ui._queries import replay_runs

current_user()
db = store()
st.title("Replay runs")

st.subheader("Drift of main")
drift = [p for p in main_drift(db) if p.pass_rate is not None]
if drift:
    latest = drift[-1]
    first = drift[0]
    a, b, c = st.columns(3)
    a.metric(
        "Regression pass rate (latest)",
        f"{latest.pass_rate:.1%}",
        f"{(latest.pass_rate or 0) - (first.pass_rate or 0):+.1%} since the first",
    )
    b.metric("Measurements", len(drift))
    c.metric("Cases (latest)", latest.cases)
    points = [
        {"at": p.at.isoformat(), "pass rate": p.pass_rate, "cases": p.cases, "source": p.source}
        for p in drift
    ]
    st.altair_chart(
        chart(points)
        .mark_line(point=True)
        .encode(
            x=alt.X("at:T", title="run"),
            y=alt.Y("pass rate:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format="%")),
            tooltip=["at:T", alt.Tooltip("pass rate:Q", format=".1%"), "cases:Q", "source:N"],
        )
        .properties(height=280),
        width="stretch",
    )
    source = "the nightly's drift stage" if latest.source == "nightly" else "baseline replays"
    st.caption(f"Main's pass rate on the regression set, from {source}.")
else:
    st.info(
        "No drift measured yet: the nightly (flywheel nightly) replays main on the regression "
        "set each night; a baseline replay (flywheel replay --baseline) measures it once."
    )

st.subheader("Nightly runs")
runs = nightly_runs(db)
if runs:
    st.dataframe(runs, hide_index=True, width="stretch")
    run_id = st.selectbox("Nightly run", [int(r["id"]) for r in runs], key="nightly_run")
    st.dataframe(nightly_stages(db, int(run_id)), hide_index=True, width="stretch")
else:
    st.write("No nightly run yet: flywheel nightly")

st.subheader("Replay runs")
rows = replay_run_rows(db)
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
else:
    st.write("No replay run recorded yet.")

st.subheader("Gate runs behind the approval queue")
cited = replay_runs(db)
if cited:
    st.dataframe(
        [{**run, "gated_at": run["gated_at"].isoformat(timespec="minutes")} for run in cited],
        hide_index=True,
        width="stretch",
    )
else:
    st.write("No candidate gated yet.")
