"""Clusters: a sortable table, and one cluster's label, keywords, exemplars, trend and map."""

from __future__ import annotations

from collections import Counter

import altair as alt
import streamlit as st

from flywheel.errors import UserError
from ui._auth import current_user
from ui._cache import shared_cluster_map
from ui._charts import chart
from ui._context import project, store
from ui._format import COUNT_AXIS, STATUS_WORDS, count, download_csv, growth_text, priority_text
from ui._links import adopt, link, remember
from ui._queries import (
    cluster_candidates,
    cluster_detail,
    cluster_lines,
    cluster_weeks,
    reference_end,
)
from ui._render import escape, plain, shorten, show_error
from ui.approvals import (
    SEVERITIES,
    check_label,
    correct_triage,
    owners,
    taxonomy,
    triage_views,
)

user = current_user()
db = store()
st.title("Clusters")
lines = cluster_lines(db, reference_end(db))
if not lines:
    st.info("No clusters yet. Group the failing traces: flywheel cluster")
    st.stop()
names = taxonomy(project().root)
views = triage_views(db, names)


def _priority(cluster: str) -> float | None:
    return views[cluster].priority if cluster in views else None


end = reference_end(db)
trends = cluster_weeks(db, end) if end is not None else {}
ranked = sorted(
    lines,
    key=lambda line: (_priority(line.id) is not None, _priority(line.id) or 0.0, line.size),
    reverse=True,
)
table = [
    {
        "Cluster": line.id,
        "Label": line.label,
        "Priority": priority_text(_priority(line.id)),
        "Failing traces": line.size,
        "This week": line.this_week,
        "Growth": "new" if line.new else growth_text(line.growth),
        "Last 6 weeks": trends.get(line.id, [0] * 6),
        "Root cause": views[line.id].root_cause if line.id in views else "not triaged",
        "Severity": views[line.id].severity if line.id in views else "—",
        "Owner": views[line.id].owner if line.id in views else "—",
        "Reviewed": "yes" if line.id in views and views[line.id].corrected_by else "no",
    }
    for line in ranked
]
ids = [str(row["Cluster"]) for row in table]
unknown = adopt("cluster", "cluster_id", ids)
if unknown:
    st.warning(escape(f"No active cluster {unknown}; showing the first instead."))


def _picked_row() -> None:
    """A click on a table row picks that cluster (before the select box below is drawn)."""
    rows = st.session_state["cluster_table"]["selection"]["rows"]
    if rows and rows[0] < len(ids):
        st.session_state["cluster_id"] = ids[rows[0]]


st.caption("Click a row to open its cluster.")
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    on_select=_picked_row,
    selection_mode="single-row",
    key="cluster_table",
    column_config={
        "Last 6 weeks": st.column_config.LineChartColumn(
            "Last 6 weeks", help="Failing traces per week, oldest first", y_min=0
        )
    },
)
download_csv(
    [{k: v for k, v in row.items() if k != "Last 6 weeks"} for row in table],
    "clusters.csv",
    key="clusters_csv",
)
# Select box options are drawn as text (not Markdown): only shortened, never escaped.
labels = {row["Cluster"]: shorten(f"{row['Cluster']} · {row['Label']}", 100) for row in table}
cluster_id = str(st.selectbox("Cluster", ids, key="cluster_id", format_func=lambda c: labels[c]))
remember("cluster", cluster_id)
detail = cluster_detail(db, cluster_id)
if detail is None:
    st.stop()

st.header(plain(f"{detail.id}: {detail.label}", limit=200))
st.text(f"{count(detail.size, 'failing trace')} · keywords: {', '.join(detail.keywords) or '—'}")
if detail.description:
    st.text(detail.description)
view = views.get(detail.id)
if view is not None:
    st.subheader("Triage")
    st.text(f"Root cause: {view.root_cause} · severity: {view.severity} · owner: {view.owner}")
    if view.needs_review:
        st.text("Needs a human: " + ("; ".join(view.review_reasons) or "low confidence"))
    if view.fixable is False and view.handoff_reason:
        st.text(f"Not for the optimizers, goes to {view.owner}: {view.handoff_reason}")
    if view.corrected_by:
        st.text(f"Corrected by {view.corrected_by} (triage said: {view.triage_said})")
    st.text(view.rationale)
    st.caption("Evidence")
    st.text("\n".join(view.evidence) or "—")
    for trace_id in view.evidence_traces[:10]:
        link("trace", trace_id, f"Open trace {trace_id}")

st.subheader("Candidate fixes")
proposed = cluster_candidates(db, detail.id)
if not proposed:
    st.write(
        "No candidate fix for this cluster yet. The optimizers propose them: "
        f"flywheel optimize --cluster {detail.id}"
    )
for candidate in proposed:
    gate = "passed its gate" if candidate.gate_passed else "failed its gate"
    link(
        "candidate",
        candidate.id,
        f"{candidate.id} · {STATUS_WORDS.get(candidate.status, candidate.status)} · {gate} "
        f"(fixed {candidate.target_fixed}, broke {candidate.target_broken} "
        f"of {count(candidate.target_cases, 'case')}) · by {candidate.author}",
    )

left, right = st.columns(2)
with left:
    st.subheader("Failing traces per week")
    if detail.weekly:
        trend = [{"week": w, "traces": n} for w, n in detail.weekly.items()]
        st.altair_chart(
            chart(trend)
            .mark_bar()
            .encode(
                x=alt.X("week:N", title="ISO week"),
                y=alt.Y("traces:Q", title="failing traces", axis=COUNT_AXIS),
                tooltip=[alt.Tooltip("week:N", title="week"), alt.Tooltip("traces:Q")],
            )
            .properties(height=240),
            width="stretch",
        )
    else:
        st.write("No timestamps on these traces.")
with right:
    st.subheader("Exemplars")
    if not detail.exemplars:
        st.write("No exemplars stored; clustering picks them on its next run.")
    for exemplar in detail.exemplars:
        link("trace", exemplar.trace_id, f"{exemplar.trace_id} · {exemplar.input_preview or ''}")

st.subheader("Map of failing traces")
points = shared_cluster_map(db)
if points:
    biggest = [c for c, _ in Counter(p["cluster"] for p in points).most_common(8)]
    for point in points:
        if point["cluster"] == detail.id:
            point["group"] = f"{detail.id} (this cluster)"
        elif point["cluster"] in biggest:
            point["group"] = point["cluster"]
        else:
            point["group"] = "other clusters"
    st.altair_chart(
        chart(points)
        .mark_circle()
        .encode(
            x=alt.X("x:Q", axis=None),
            y=alt.Y("y:Q", axis=None),
            color=alt.Color("group:N", title="Cluster", legend=alt.Legend(orient="right")),
            size=alt.condition(alt.datum.cluster == detail.id, alt.value(60), alt.value(14)),
            opacity=alt.condition(alt.datum.cluster == detail.id, alt.value(1.0), alt.value(0.35)),
            tooltip=[
                alt.Tooltip("cluster:N", title="cluster"),
                alt.Tooltip("trace_id:N", title="trace"),
            ],
        )
        .properties(height=360),
        width="stretch",
    )
    st.caption(
        "2-D projection (PCA) of the failure signatures' embeddings, a sample; the largest "
        "clusters in colour, this one drawn larger."
    )
else:
    st.write("No cached embeddings to draw a map from yet; they appear after flywheel cluster.")

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
    with st.form(f"triage_label_{detail.id}"):
        cause = st.selectbox(
            "Root cause",
            causes,
            index=causes.index(current),
            format_func=lambda n: f"{n} (owner: {names.root_causes[n].owner})",
            key=f"label_root_cause_{detail.id}",
        )
        severity = st.selectbox(
            "Severity",
            SEVERITIES,
            index=SEVERITIES.index(view.severity) if view and view.severity in SEVERITIES else 1,
            key=f"label_severity_{detail.id}",
        )
        owner = st.selectbox(
            "Owner",
            ["(the root cause's owner)", *owner_names],
            index=1 + owner_names.index(view.owner)
            if view is not None and view.corrected_by and view.owner in owner_names
            else 0,
            key=f"label_owner_{detail.id}",
        )
        note = st.text_input("Note", key=f"label_note_{detail.id}")
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
