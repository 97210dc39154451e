"""Trace explorer: search and filter one page at a time; one trace as a tree of steps."""

from __future__ import annotations

from collections import defaultdict

import streamlit as st

from flywheel.errors import UserError
from flywheel.trace import Step, StepType
from ui._auth import current_user
from ui._context import store
from ui._queries import TraceFilter, cluster_of, routes, search_traces
from ui._render import plain, show_error, show_text

PAGE = 50

current_user()
db = store()
st.title("Traces")

with st.form("trace_filter"):
    a, b, c, d, e = st.columns([3, 2, 1, 2, 1])
    text = a.text_input("Request contains", key="f_text")
    trace_id = b.text_input("Trace id starts with", key="f_id")
    status = c.selectbox("Status", ["all", "failing", "ok"], key="f_status")
    route = d.selectbox("Route", ["any", *routes(db)], key="f_route")
    cluster = e.text_input("Cluster", key="f_cluster")
    if st.form_submit_button("Search"):
        st.session_state["trace_pages"] = [None]
where = TraceFilter(
    text=text,
    trace_id=trace_id,
    failing={"all": None, "failing": True, "ok": False}[status],
    route=None if route == "any" else route,
    cluster_id=cluster.strip() or None,
)
pages: list[int | None] = st.session_state.setdefault("trace_pages", [None])
found, more = search_traces(db, where, limit=PAGE, after_pk=pages[-1])
back, page_label, forward = st.columns([1, 3, 1])
if back.button("Newer", disabled=len(pages) == 1):
    pages.pop()
    st.rerun()
page_label.caption(f"Page {len(pages)} · {len(found)} traces, newest first")
if forward.button("Older", disabled=not more) and found:
    pages.append(found[-1].pk)
    st.rerun()
if not found:
    st.info("No trace matches.")
    st.stop()
st.dataframe(
    (
        [
            {
                "trace": t.trace_id,
                "time": t.timestamp.isoformat(timespec="seconds") if t.timestamp else None,
                "request": t.input_preview,
                "route": t.route,
                "failing": t.failing,
                "score": t.failure_score,
                "tools": t.tool_calls,
                "errors": t.error_count,
                "latency ms": t.latency_ms,
            }
            for t in found
        ]
    ),
    hide_index=True,
    width="stretch",
)
by_label = {f"{t.trace_id} ({t.source})": t for t in found}
chosen = st.selectbox("Open trace", list(by_label), key="trace_open")
summary = by_label[str(chosen)]
try:
    stored = db.get_trace(summary.trace_id, summary.source)
except UserError as exc:
    show_error(exc)
    st.stop()
trace = stored.trace

st.header(plain(trace.trace_id))
st.text(
    f"source {stored.source} · version {stored.version} · failing {stored.failing} "
    f"(score {stored.failure_score}) · cluster {cluster_of(db, stored.pk) or '—'}\n"
    f"session {trace.session_id or '—'} · user {trace.user_id or '—'} · "
    f"time {trace.timestamp or '—'} · latency {trace.latency_ms or '—'} ms"
)
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
                    "kind": f.kind.value,
                    "value": f.value,
                    "comment": f.comment,
                    "source": f.source.value,
                }
                for f in trace.feedback
            ]
            + [
                {
                    "kind": f"score:{sc.name}",
                    "value": sc.value,
                    "comment": sc.comment,
                    "source": sc.source,
                }
                for sc in trace.scores
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.write("None.")
st.subheader("Failure signals")
signals = db.signals_of(stored.pk)
if signals:
    st.dataframe(
        (
            [
                {
                    "kind": s.kind.value,
                    "strength": s.strength,
                    "evidence": s.evidence,
                    "step": s.step_id,
                }
                for s in signals
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.write("None derived yet.")
