"""Clusters: a sortable table, and one cluster's label, keywords, exemplars, trend and map."""

from __future__ import annotations

import altair as alt
import streamlit as st

from flywheel.errors import UserError
from ui._auth import current_user
from ui._charts import chart
from ui._context import project, store
from ui._queries import cluster_detail, cluster_lines, cluster_map, reference_end
from ui._render import escape, plain, show_error
from ui._rules import check_label
from ui._triage import SEVERITIES, correct_triage, owners, taxonomy, triage_views

user = current_user()
db = store()
st.title("Clusters")
lines = cluster_lines(db, reference_end(db))
if not lines:
    st.info("No clusters yet. Group the failing traces: flywheel cluster")
    st.stop()
names = taxonomy(project().root)
views = triage_views(db, names)
table = sorted(
    (
        {
            "cluster": line.id,
            "label": line.label,
            "priority": views[line.id].priority if line.id in views else None,
            "size": line.size,
            "this week": line.this_week,
            "growth": line.growth,
            "root cause": views[line.id].root_cause if line.id in views else "not triaged",
            "severity": views[line.id].severity if line.id in views else "",
            "owner": views[line.id].owner if line.id in views else "",
            "reviewed": bool(views[line.id].corrected_by) if line.id in views else False,
        }
        for line in lines
    ),
    key=lambda row: (row["priority"] is not None, row["priority"] or 0.0, row["size"]),
    reverse=True,
)
picked = st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="cluster_table",
    column_config={"growth": st.column_config.NumberColumn(format="percent")},
)
ids = [str(row["cluster"]) for row in table]
rows = picked.selection.rows if picked is not None else []
default = rows[0] if rows else 0
cluster_id = st.selectbox("Cluster", ids, index=default, key="cluster_id")
detail = cluster_detail(db, str(cluster_id))
if detail is None:
    st.stop()

st.header(plain(f"{detail.id}: {detail.label}", limit=200))
st.text(f"{detail.size} failing traces · keywords: {', '.join(detail.keywords) or '—'}")
if detail.description:
    st.text(detail.description)
view = views.get(detail.id)
if view is not None:
    st.subheader("Triage")
    st.text(f"root cause: {view.root_cause} · severity: {view.severity} · owner: {view.owner}")
    if view.corrected_by:
        st.text(f"corrected by {view.corrected_by} (triage said: {view.triage_said})")
    st.text(view.rationale)
    st.caption("Evidence (trace / step ids)")
    st.text("\n".join(view.evidence) or "—")
left, right = st.columns(2)
with left:
    st.subheader("Weekly trend")
    if detail.weekly:
        trend = [{"week": w, "traces": n} for w, n in detail.weekly.items()]
        st.altair_chart(
            chart(trend).mark_line(point=True).encode(x="week:N", y="traces:Q"),
            width="stretch",
        )
    else:
        st.write("No timestamps on these traces.")
with right:
    st.subheader("Exemplars")
    st.dataframe(
        [{"trace": t.trace_id, "request": t.input_preview} for t in detail.exemplars],
        hide_index=True,
        width="stretch",
    )

st.subheader("Map of failing traces")
points = cluster_map(db)
if points:
    for point in points:
        point["this cluster"] = point["cluster"] == detail.id
    st.altair_chart(
        chart(points)
        .mark_circle(size=18)
        .encode(
            x=alt.X("x:Q", axis=None),
            y=alt.Y("y:Q", axis=None),
            color=alt.Color("cluster:N", legend=None),
            opacity=alt.condition("datum['this cluster']", alt.value(1.0), alt.value(0.25)),
            tooltip=["cluster:N", "trace_id:N"],
        )
        .properties(height=360),
        width="stretch",
    )
    st.caption("2-D projection (PCA) of the failure signatures' embeddings; a sample.")
else:
    st.write("No cached embeddings to draw a map from yet.")

st.subheader("Correct the triage")
label_flash = st.session_state.pop("label_flash", None)
if label_flash:
    st.success(escape(label_flash))
try:
    check_label(user)
except UserError as exc:
    st.caption(plain(str(exc), limit=300))
else:
    causes = names.names
    current = view.root_cause if view is not None and view.root_cause in causes else causes[0]
    owner_names = owners(names)
    with st.form("triage_label"):
        cause = st.selectbox(
            "Root cause",
            causes,
            index=causes.index(current),
            format_func=lambda n: f"{n} (owner: {names.root_causes[n].owner})",
            key="label_root_cause",
        )
        severity = st.selectbox(
            "Severity",
            SEVERITIES,
            index=SEVERITIES.index(view.severity) if view and view.severity in SEVERITIES else 1,
            key="label_severity",
        )
        owner = st.selectbox(
            "Owner",
            ["(the root cause's owner)", *owner_names],
            index=1 + owner_names.index(view.owner)
            if view is not None and view.corrected_by and view.owner in owner_names
            else 0,
            key="label_owner",
        )
        note = st.text_input("Note", key="label_note")
        if st.form_submit_button("Save label"):
            chosen_owner = None if owner not in owner_names else str(owner)
            try:
                correct_triage(
                    db,
                    project().root,
                    detail.id,
                    user,
                    root_cause=str(cause),
                    severity=str(severity),
                    owner=chosen_owner,
                    note=note,
                )
            except UserError as exc:
                show_error(exc)
            else:
                st.session_state["label_flash"] = (
                    f"Label saved for {detail.id}: {cause}, {severity}, owner "
                    f"{chosen_owner or names.root_causes[str(cause)].owner}"
                )
                st.rerun()
    st.caption(
        "A human label: it feeds triage's calibration. The owner follows the root cause unless "
        "you pick another (kept in the audit log; triage's calibration has no owner field)."
    )
