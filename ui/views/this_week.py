"""This week: volume and failing rate vs last week, moving clusters, triage, shipped fixes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import altair as alt
import streamlit as st

from ui._auth import current_user
from ui._charts import chart
from ui._context import store
from ui._format import COUNT_AXIS, download_csv, growth_text, priority_text, when, yes_no
from ui._links import go
from ui._queries import cluster_lines, reference_end, ships, week_overview, weekly_rates
from ui.approvals import triage_views

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
    days = sorted({str(row["day"]) for row in overview.daily})
    labels = {d: f"{date.fromisoformat(d):%a %-d %b}" for d in days}
    daily = [{**row, "date": labels[str(row["day"])]} for row in overview.daily]
    st.altair_chart(
        chart(daily)
        .mark_bar()
        .encode(
            x=alt.X("date:O", title=None, sort=[labels[d] for d in days]),
            y=alt.Y("traces:Q", title="traces per day", axis=COUNT_AXIS),
            color=alt.Color(
                "failing:N",
                title="Traces",
                scale=alt.Scale(domain=["failing", "ok"], range=["#d62728", "#9ecae1"]),
            ),
            tooltip=[
                alt.Tooltip("date:O", title="day"),
                alt.Tooltip("failing:N", title="status"),
                alt.Tooltip("traces:Q", title="traces", format=","),
            ],
        )
        .properties(height=220),
        width="stretch",
    )
    st.caption("Traces per day over the last two weeks, failing ones in red.")

weeks = [w for w in weekly_rates(db, end) if w.traces]
if len(weeks) > 1:
    trend = [
        {
            "week": f"{w.start:%-d %b}–{(w.end - timedelta(microseconds=1)):%-d %b}",
            "failing rate": w.failing_rate,
            "traces": w.traces,
            "failing": w.failing,
        }
        for w in weeks
    ]
    st.altair_chart(
        chart(trend)
        .mark_line(point=True)
        .encode(
            x=alt.X("week:O", title=None, sort=None),
            y=alt.Y("failing rate:Q", title="failing rate", axis=alt.Axis(format=".0%")),
            tooltip=[
                alt.Tooltip("week:O"),
                alt.Tooltip("failing rate:Q", format=".1%"),
                alt.Tooltip("failing:Q", format=","),
                alt.Tooltip("traces:Q", format=","),
            ],
        )
        .properties(height=180),
        width="stretch",
    )
    st.caption("Failing rate per 7-day week, up to the newest trace.")

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
            "Cluster": line.id,
            "Label": line.label,
            "Last week": line.last_week,
            "This week": line.this_week,
            "Growth": "new" if line.new else growth_text(line.growth),
        }
        for line in moving
    ]
    st.caption("Click a row to open its cluster.")
    grown = st.dataframe(
        frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row"
    )
    if grown is not None and grown.selection.rows:
        go("cluster", str(frame[grown.selection.rows[0]]["Cluster"]))
    download_csv(frame, "clusters_moving.csv", key="moving_csv")
    long = [
        {"cluster": row["Cluster"], "week": week, "value": row[week]}
        for row in frame
        for week in ("Last week", "This week")
    ]
    st.altair_chart(
        chart(long)
        .mark_bar()
        .encode(
            x=alt.X("cluster:N", sort=None, title=None),
            xOffset="week:N",
            y=alt.Y("value:Q", title="failing traces", axis=COUNT_AXIS),
            color=alt.Color("week:N", title=None),
            tooltip=["cluster:N", "week:N", alt.Tooltip("value:Q", title="failing traces")],
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
        chart(triage)
        .mark_bar()
        .encode(
            y=alt.Y("root_cause:N", title="root cause"),
            x=alt.X("count():Q", title="clusters", axis=COUNT_AXIS),
        ),
        width="stretch",
    )
    right.altair_chart(
        chart(triage)
        .mark_bar()
        .encode(
            x=alt.X("severity:N", title="severity"),
            y=alt.Y("count():Q", title="clusters", axis=COUNT_AXIS),
        ),
        width="stretch",
    )

st.subheader("Needs a human")
review = sorted((v for v in views.values() if v.needs_review), key=lambda v: v.cluster_id)
if not review:
    st.write("No cluster is waiting for a human: every triage cleared the review threshold.")
else:
    st.caption("Triage is unsure of these; the optimizers leave them alone until a reviewer looks.")
    st.dataframe(
        [
            {
                "Cluster": v.cluster_id,
                "Name": v.name or "—",
                "Confidence": f"{v.confidence:.2f}" if v.confidence is not None else "—",
                "Why": "; ".join(v.review_reasons) or "low confidence",
            }
            for v in review
        ],
        hide_index=True,
        width="stretch",
    )

st.subheader("Top priorities")
if views:
    ranked = sorted(views.values(), key=lambda v: v.priority or 0.0, reverse=True)[:10]
    top_rows: list[dict[str, Any]] = [
        {
            "Cluster": v.cluster_id,
            "Priority": priority_text(v.priority),
            "Root cause": v.root_cause,
            "Severity": v.severity,
            "Owner": v.owner,
            "Fixable": yes_no(v.fixable),
            "Corrected by": v.corrected_by or "—",
        }
        for v in ranked
    ]
elif lines:
    st.caption("Without triage, ranked by failing traces this week.")
    top = sorted(lines, key=lambda line: line.this_week, reverse=True)[:10]
    top_rows = [{"Cluster": t.id, "Label": t.label, "This week": t.this_week} for t in top]
else:
    top_rows = []
if top_rows:
    st.caption("Click a row to open its cluster.")
    picked = st.dataframe(
        top_rows, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row"
    )
    if picked is not None and picked.selection.rows:
        go("cluster", str(top_rows[picked.selection.rows[0]]["Cluster"]))

st.subheader("Shipped fixes and their effect")
shipped = ships(db)
if not shipped:
    st.write("No fix has shipped yet. Approve one on the Approvals page.")
else:
    effect = [
        {
            "Candidate": s.candidate_id,
            "Cluster": s.cluster_id,
            "Shipped": when(s.shipped_at),
            "Failing week before": s.failing_week_before,
            "Failing week after": s.failing_week_after,
            "Rolled back": yes_no(s.rolled_back),
            "Approvers": ", ".join(s.approvers) or "—",
        }
        for s in shipped
    ]
    st.caption("Click a row to open the fix on the Approvals page (and roll it back there).")
    opened = st.dataframe(
        effect, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row"
    )
    if opened is not None and opened.selection.rows:
        go("candidate", str(effect[opened.selection.rows[0]]["Candidate"]))
    download_csv(effect, "shipped_fixes.csv", key="shipped_csv")
    st.altair_chart(
        chart(
            [
                {"candidate": row["Candidate"], "window": window, "value": row[window]}
                for row in effect
                for window in ("Failing week before", "Failing week after")
            ]
        )
        .mark_bar()
        .encode(
            x=alt.X("candidate:N", title=None),
            xOffset=alt.XOffset("window:N", sort=["Failing week before", "Failing week after"]),
            y=alt.Y("value:Q", title="failing traces in the cluster", axis=COUNT_AXIS),
            color=alt.Color(
                "window:N", title=None, sort=["Failing week before", "Failing week after"]
            ),
            tooltip=["candidate:N", "window:N", alt.Tooltip("value:Q", title="failing traces")],
        )
        .properties(height=200),
        width="stretch",
    )
