"""Replay runs: main's drift over time, the nightly history, and the replay runs themselves."""

from __future__ import annotations

import altair as alt
import streamlit as st

from ui._auth import current_user
from ui._charts import chart
from ui._context import store
from ui._format import show_table
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
        f"{((latest.pass_rate or 0) - (first.pass_rate or 0)) * 100:+.1f} pp since the first",
    )
    b.metric("Measurements", f"{len(drift):,}")
    c.metric("Cases (latest)", f"{latest.cases:,}")
    points = [
        {"at": p.at.isoformat(), "pass rate": p.pass_rate, "cases": p.cases, "source": p.source}
        for p in drift
    ]
    st.altair_chart(
        chart(points)
        .mark_line(point=True)
        .encode(
            x=alt.X("at:T", title=None, axis=alt.Axis(format="%-d %b", tickCount="day")),
            y=alt.Y(
                "pass rate:Q",
                title="regression pass rate",
                scale=alt.Scale(zero=False, padding=10),
                axis=alt.Axis(format=".0%"),
            ),
            tooltip=[
                alt.Tooltip("at:T", title="measured", format="%-d %b %Y, %H:%M"),
                alt.Tooltip("pass rate:Q", title="pass rate", format=".1%"),
                alt.Tooltip("cases:Q", format=","),
                alt.Tooltip("source:N"),
            ],
        )
        .properties(height=280),
        width="stretch",
    )
    source = "the nightly's drift stage" if latest.source == "nightly" else "baseline replays"
    st.caption(
        f"Main's pass rate on the regression case set (replay's version of the regression "
        f"eval set on the Datasets page), from {source}."
    )
else:
    st.info(
        "No drift measured yet: the nightly (flywheel nightly) replays main on the regression "
        "set each night; a baseline replay (flywheel replay --baseline) measures it once."
    )

st.subheader("Nightly runs")
runs = nightly_runs(db)
if runs:
    show_table(runs, key="nightly_csv", file_name="nightly_runs.csv")
    run_id = st.selectbox(
        "Nightly run",
        [int(r["id"]) for r in runs],
        key="nightly_run",
        format_func=lambda n: f"#{n}",
    )
    show_table(
        nightly_stages(db, int(run_id)),
        key="stages_csv",
        file_name=f"nightly_{run_id}_stages.csv",
        names={"seconds": "Seconds"},
    )
else:
    st.write("No nightly run yet: flywheel nightly")

st.subheader("Replay runs")
rows = replay_run_rows(db)
if rows:
    show_table(rows, key="replay_csv", file_name="replay_runs.csv")
else:
    st.write("No replay run recorded yet: flywheel replay --baseline measures main once.")

st.subheader("Gate runs behind the approval queue")
cited = replay_runs(db)
if cited:
    show_table(
        cited,
        key="gate_runs_csv",
        file_name="gate_runs.csv",
        names={"gated_at": "Gated", "target_fixed": "Fixed", "target_broken": "Broken"},
    )
else:
    st.write("No candidate gated yet: flywheel gate judges a candidate against main.")
