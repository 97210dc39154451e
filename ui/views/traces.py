"""Trace explorer: search and filter one page at a time; one trace as a tree of steps."""

from __future__ import annotations

from collections import defaultdict

import streamlit as st

from flywheel.errors import UserError
from flywheel.trace import Step, StepType
from ui._auth import current_user
from ui._context import store
from ui._format import count, download_csv, number, when
from ui._links import link, param, remember
from ui._queries import (
    Cursor,
    TraceFilter,
    cluster_of,
    cursor_of,
    routes,
    search_traces,
    traces_by_id,
)
from ui._render import escape, plain, show_error, show_text

PAGE = 50
STATUS: dict[bool | None, str] = {True: "failing", False: "ok"}


def forget_trace() -> None:
    """A new search or page opens its own first trace, not the one the URL named."""
    st.query_params.pop("trace", None)
    st.session_state.pop("trace_open", None)


current_user()
db = store()
st.title("Traces")

with st.form("trace_filter"):
    a, b, c, d, e = st.columns([3, 2, 1, 2, 1])
    text = a.text_input("Request contains", key="f_text")
    trace_id = b.text_input("Trace id starts with", key="f_id")
    status = c.selectbox("Status", ["all", "failing", "ok"], key="f_status")
    route = d.selectbox("Route", ["any", *routes(db)], key="f_route")
    cluster = e.text_input("Cluster", key="f_cluster", placeholder="e.g. C-0003")
    if st.form_submit_button("Search"):
        st.session_state["trace_pages"] = [None]
        forget_trace()
where = TraceFilter(
    text=text,
    trace_id=trace_id,
    failing={"all": None, "failing": True, "ok": False}[status],
    route=None if route == "any" else route,
    cluster_id=cluster.strip() or None,
)
pages: list[Cursor | None] = st.session_state.setdefault("trace_pages", [None])
found, more = search_traces(db, where, limit=PAGE, after=pages[-1])
back, page_label, forward = st.columns([1, 3, 1])
if back.button("Newer", disabled=len(pages) == 1):
    pages.pop()
    forget_trace()
    st.rerun()
page_label.caption(
    f"Page {len(pages)} · {count(len(found), 'trace')}, newest first (by the trace's time)"
)
if forward.button("Older", disabled=not more) and found:
    pages.append(cursor_of(found[-1]))
    forget_trace()
    st.rerun()

# ?trace=ID opens that trace even when it is not on this page of results.
wanted = param("trace")
opened = [t for t in found if t.trace_id == wanted]
if wanted and not opened:
    opened = traces_by_id(db, [wanted])
    if not opened:
        st.warning(escape(f"No trace {wanted}."))
listed = opened + [t for t in found if t not in opened]
if not listed:
    st.info(
        "No trace matches. Clear a filter, or ingest traces: flywheel ingest FILE"
        if any((text, trace_id, status != "all", route != "any", cluster.strip()))
        else "No traces yet. Ingest some: flywheel ingest FILE"
    )
    st.stop()
rows = [
    {
        "Trace": t.trace_id,
        "Time": when(t.timestamp),
        "Request": t.input_preview,
        "Route": t.route or "—",
        "Status": STATUS.get(t.failing, "not scored"),
        "Failure score": number(t.failure_score),
        "Tool calls": t.tool_calls,
        "Errors": t.error_count,
        "Latency (ms)": number(t.latency_ms, 0),
    }
    for t in found
]


def _picked_row() -> None:
    picked = st.session_state["trace_table"]["selection"]["rows"]
    if picked and picked[0] < len(found):
        chosen = found[picked[0]]
        st.session_state["trace_open"] = f"{chosen.trace_id} ({chosen.source})"
        st.query_params["trace"] = chosen.trace_id
        st.session_state["_trace_from_url"] = chosen.trace_id


st.caption("Click a row to open its trace.")
st.dataframe(
    rows,
    hide_index=True,
    width="stretch",
    on_select=_picked_row,
    selection_mode="single-row",
    key="trace_table",
)
download_csv(rows, "traces.csv", key="traces_csv")
by_label = {f"{t.trace_id} ({t.source})": t for t in listed}
labels = list(by_label)


if (
    wanted
    and opened
    and (st.session_state.get("_trace_from_url") != wanted or "trace_open" not in st.session_state)
):
    st.session_state["trace_open"] = labels[0]
if st.session_state.get("trace_open") not in labels:
    st.session_state.pop("trace_open", None)
chosen = st.selectbox("Open trace", labels, key="trace_open")
summary = by_label[str(chosen)]
remember("trace", summary.trace_id)
try:
    stored = db.get_trace(summary.trace_id, summary.source)
except UserError as exc:
    show_error(exc)
    st.stop()
trace = stored.trace

st.header(plain(trace.trace_id))
score = (
    f" (failure score {number(stored.failure_score)})" if stored.failure_score is not None else ""
)
st.text(
    f"{STATUS.get(stored.failing, 'not scored').capitalize()}{score} · source {stored.source} · "
    f"version {stored.version}\n"
    f"Session {trace.session_id or '—'} · user {trace.user_id or '—'} · "
    f"time {when(trace.timestamp)} · latency "
    f"{number(trace.latency_ms, 0) + ' ms' if trace.latency_ms is not None else '—'}"
)
member_of = cluster_of(db, stored.pk)
if member_of:
    link("cluster", member_of, f"In cluster {member_of}")
else:
    st.caption("In no cluster.")
left, right = st.columns(2)
with left:
    show_text(trace.input, label="Input")
with right:
    show_text(trace.output, label="Output")

st.subheader("Steps")
children: defaultdict[str | None, list[Step]] = defaultdict(list)
ids = {step.id for step in trace.steps}
for step in trace.steps:
    children[step.parent_id if step.parent_id in ids else None].append(step)


def _walk(parent: str | None, depth: int, seen: set[str]) -> list[tuple[int, Step]]:
    ordered: list[tuple[int, Step]] = []
    for step in children.get(parent, []):
        if step.id in seen:
            continue
        seen.add(step.id)
        ordered.append((depth, step))
        ordered.extend(_walk(step.id, depth + 1, seen))
    return ordered


for depth, step in _walk(None, 0, set()):
    marker = "· " * depth
    flag = " ⚠" if step.error else ""
    label = plain(f"{marker}{step.type.value} {step.name}{flag}", limit=150)
    with st.expander(label, expanded=bool(step.error)):
        facts = [f"id {step.id}"]
        if step.latency_ms is not None:
            facts.append(f"{step.latency_ms:.0f} ms")
        if step.model:
            facts.append(f"model {step.model}")
        st.text(" · ".join(facts))
        if step.error:
            st.caption("Error")
            st.code(step.error, language=None, wrap_lines=True)
        show_text(step.input, label="Input")
        title = "Retrieved documents" if step.type is StepType.retriever else "Output"
        show_text(step.output, label=title)

st.subheader("Feedback and scores")
if trace.feedback or trace.scores:
    st.dataframe(
        (
            [
                {
                    "Kind": f.kind.value,
                    "Value": "—" if f.value is None else str(f.value),
                    "Comment": f.comment or "—",
                    "Source": f.source.value,
                }
                for f in trace.feedback
            ]
            + [
                {
                    "Kind": f"score: {sc.name}",
                    "Value": "—" if sc.value is None else str(sc.value),
                    "Comment": sc.comment or "—",
                    "Source": str(sc.source or "—"),
                }
                for sc in trace.scores
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.write("No feedback or scores on this trace.")
st.subheader("Failure signals")
signals = db.signals_of(stored.pk)
if signals:
    st.dataframe(
        (
            [
                {
                    "Signal": s.kind.value.replace("_", " "),
                    "Strength": number(s.strength),
                    "Evidence": s.evidence or "—",
                    "Step": s.step_id or "—",
                }
                for s in signals
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.write("No failure signal derived yet; flywheel detect derives them.")
