"""This week: volume and failing rate vs last week, moving clusters, triage, shipped fixes."""

from __future__ import annotations

import altair as alt
import streamlit as st

from ui._auth import current_user
from ui._charts import chart
from ui._context import store
from ui._queries import cluster_lines, reference_end, ships, week_overview
from ui._triage import triage_views

current_user()
db = store()
st.title("This week")
end = reference_end(db)
if end is None:
    st.info("No traces yet. Ingest some: flywheel ingest FILE")
    st.stop()
overview = week_overview(db, end)
this, last = overview.this_week, overview.last_week
st.caption(f"The 7 days up to the newest trace ({end:%Y-%m-%d %H:%M} UTC), against the 7 before.")

a, b, c = st.columns(3)
a.metric("Traces", this.traces, delta=this.traces - last.traces)
b.metric("Failing", this.failing, delta=this.failing - last.failing, delta_color="inverse")
rate, old_rate = this.failing_rate, last.failing_rate
c.metric(
    "Failing rate",
    f"{rate:.1%}" if rate is not None else "—",
    delta=None if rate is None or old_rate is None else f"{(rate - old_rate) * 100:+.1f} pp",
    delta_color="inverse",
)
if overview.daily:
    st.altair_chart(
        chart(overview.daily)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title="day"),
            y=alt.Y("traces:Q", title="traces"),
            color=alt.Color("failing:N", scale=alt.Scale(range=["#d62728", "#9ecae1"])),
            tooltip=["day:T", "failing:N", "traces:Q"],
        )
        .properties(height=220),
        width="stretch",
    )

st.subheader("Clusters that grew or appeared")
lines = cluster_lines(db, end)
moving = sorted(
    (line for line in lines if line.new or ((line.growth or 0) > 0.25 and line.this_week >= 3)),
    key=lambda line: line.this_week - line.last_week,
    reverse=True,
)[:15]
if not lines:
    st.info("No clusters yet. Group the failing traces: flywheel cluster")
elif not moving:
    st.write("No cluster grew by more than 25% or appeared this week.")
else:
    frame = [
        {
            "cluster": line.id,
            "label": line.label,
            "last week": line.last_week,
            "this week": line.this_week,
            "growth": "new" if line.new else f"{line.growth:+.0%}",
        }
        for line in moving
    ]
    st.dataframe(frame, hide_index=True, width="stretch")
    long = [
        {"cluster": row["cluster"], "week": week, "value": row[week]}
        for row in frame
        for week in ("last week", "this week")
    ]
    st.altair_chart(
        chart(long)
        .mark_bar()
        .encode(
            x=alt.X("cluster:N", sort=None),
            xOffset="week:N",
            y=alt.Y("value:Q", title="failing traces"),
            color="week:N",
            tooltip=["cluster:N", "week:N", "value:Q"],
        )
        .properties(height=220),
        width="stretch",
    )

st.subheader("Root causes and severity")
views = triage_views(db)
if not views:
    st.info("Triage has not run on these clusters yet, so there is no root-cause breakdown.")
else:
    triage = [view.model_dump() for view in views.values()]
    left, right = st.columns(2)
    left.altair_chart(
        chart(triage).mark_bar().encode(y="root_cause:N", x="count():Q"),
        width="stretch",
    )
    right.altair_chart(
        chart(triage).mark_bar().encode(x="severity:N", y="count():Q"),
        width="stretch",
    )

st.subheader("Top priorities")
if views:
    ranked = sorted(views.values(), key=lambda v: v.priority or 0.0, reverse=True)[:10]
    st.dataframe(
        [v.model_dump(exclude={"rationale", "evidence"}) for v in ranked],
        hide_index=True,
        width="stretch",
    )
elif lines:
    st.caption("Without triage, ranked by failing traces this week.")
    top = sorted(lines, key=lambda line: line.this_week, reverse=True)[:10]
    st.dataframe(
        [{"cluster": t.id, "label": t.label, "this week": t.this_week} for t in top],
        hide_index=True,
        width="stretch",
    )

st.subheader("Shipped fixes and their effect")
shipped = ships(db)
if not shipped:
    st.write("No fix has shipped yet.")
else:
    effect = [
        {
            "candidate": s.candidate_id,
            "cluster": s.cluster_id,
            "shipped": s.shipped_at.isoformat(timespec="minutes"),
            "failing week before": s.failing_week_before,
            "failing week after": s.failing_week_after,
            "rolled back": s.rolled_back,
            "approvers": ", ".join(s.approvers),
        }
        for s in shipped
    ]
    st.dataframe(effect, hide_index=True, width="stretch")
    st.altair_chart(
        chart(
            [
                {"candidate": row["candidate"], "window": window, "value": row[window]}
                for row in effect
                for window in ("failing week before", "failing week after")
            ]
        )
        .mark_bar()
        .encode(x="candidate:N", xOffset="window:N", y="value:Q", color="window:N")
        .properties(height=200),
        width="stretch",
    )
