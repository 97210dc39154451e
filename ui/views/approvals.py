"""Approval queue: gated candidates, highest priority first; approve, reject, roll back."""

from __future__ import annotations

import contextlib

import streamlit as st

from flywheel.errors import UserError
from ui._auth import current_user
from ui._context import project, store
from ui._diff import diff_html, diff_lines, traces_in
from ui._flips import flips_html
from ui._format import (
    STATUS_WORDS,
    count,
    details,
    download_csv,
    number,
    priority_text,
    when,
)
from ui._gate_view import _gate_table, _verdict
from ui._links import link, param, remember
from ui._queries import candidate_counts, gate_outcomes
from ui._render import escape, plain, show_error
from ui.approvals import (
    ApprovalDesk,
    Candidate,
    DecisionView,
    MergeConflict,
    StaleCandidate,
    audit_records,
    may_decide,
)

PAGE = 20

user = current_user()
db = store()
desk = ApprovalDesk(project(), db)
queue = desk.queue
st.title("Approval queue")
counts = candidate_counts(db)
st.caption(
    " · ".join(f"{STATUS_WORDS.get(status, status)}: {n}" for status, n in sorted(counts.items()))
    or "No candidates yet."
)
if may_decide(user) and st.button("Import gated candidates from replay"):
    try:
        found = desk.import_gated()
    except UserError as exc:
        show_error(exc)
    else:
        st.session_state["approval_flash"] = f"{len(found)} gated candidates in the queue"
        st.rerun()
flash = st.session_state.pop("approval_flash", None)
if flash:
    st.success(escape(flash))
flash_error = st.session_state.pop("approval_flash_error", None)
if flash_error:
    st.error(escape(flash_error))

FAILED = "gate_failed"
# ?candidate=ID opens that candidate whatever its status (so the status is picked first).
wanted = param("candidate")
fresh = "candidate_id" not in st.session_state  # the page opened again (a link, the sidebar)
if wanted and (st.session_state.get("_candidate_from_url") != wanted or fresh):
    try:
        st.session_state["queue_status"] = queue.get(wanted).status
    except UserError:
        st.warning(escape(f"No candidate {wanted} in the approval queue."))
        st.session_state["_candidate_from_url"] = wanted
status = st.radio(
    "Show",
    ["gated", "needs_rework", "shipped", "rejected", "rolled_back", FAILED],
    horizontal=True,
    key="queue_status",
    format_func=lambda s: (
        "failed or inconclusive at the gate" if s == FAILED else STATUS_WORDS.get(s, s)
    ),
)
if status == FAILED:
    st.query_params.pop("candidate", None)  # the list names no one candidate
    failed = gate_outcomes(db)
    if not failed:
        st.info(
            "No candidate failed its replay gate or came out inconclusive. Gate decisions appear "
            "here after flywheel gate (or the nightly run) judges a candidate."
        )
        st.stop()
    st.caption(
        "Candidates the replay gate did not pass: they never reach the queue. The reasons are "
        "the gate's own; an inconclusive one may pass with more cases (flywheel gate --repeats)."
    )
    failed_rows = [
        {
            "Candidate": f.candidate_id,
            "Cluster": f.cluster_id or "—",
            "Gate": f.decision,
            "Fixed": number(f.target_fixed),
            "Broken": number(f.target_broken),
            "Target cases": number(f.target_cases),
            "Reasons": "; ".join(f.reasons) or "—",
            "Decided": when(f.decided_at),
        }
        for f in failed
    ]
    st.dataframe(failed_rows, hide_index=True, width="stretch")
    download_csv(failed_rows, "gate_failures.csv", key="failed_csv")
    st.stop()

total = queue.count(status=status)
pages = max(1, -(-total // PAGE))
page = int(st.number_input("Page", 1, pages, 1, key="queue_page")) if pages > 1 else 1
candidates = queue.queue(status=status, limit=PAGE, offset=(page - 1) * PAGE)
if wanted and wanted not in {c.id for c in candidates}:
    with contextlib.suppress(UserError):
        candidates = [queue.get(wanted), *candidates]
    candidates = [c for c in candidates if c.status == status]
if not candidates:
    st.query_params.pop("candidate", None)
    st.info(
        {
            "gated": "Nothing waits for a decision. Candidates arrive when a fix passes its "
            "replay gate: Import gated candidates from replay, or run flywheel nightly.",
            "needs_rework": "No candidate needs rework.",
            "shipped": "No fix has shipped yet.",
            "rejected": "No candidate was rejected.",
            "rolled_back": "No fix was rolled back.",
        }.get(status, "No candidates.")
    )
    st.stop()
queue_rows = [
    {
        "Candidate": c.id,
        "Cluster": c.cluster_id,
        "Severity": c.severity,
        "Priority": priority_text(c.priority),
        "Fixed": c.gate.target_fixed,
        "Broken": c.gate.target_broken,
        "Target cases": c.gate.target_cases,
        "p-value": f"{c.gate.target_p_value:.3g}" if c.gate.target_p_value is not None else "—",
        "Gate": "passed" if c.gate.passed else "failed",
        "Author": c.author,
    }
    for c in candidates
]
by_id = {c.id: c for c in candidates}
ids = list(by_id)


def _picked_row() -> None:
    """A click on a queue row opens that candidate (before the select box is drawn)."""
    rows = st.session_state["queue_table"]["selection"]["rows"]
    if rows and rows[0] < len(ids):
        st.session_state["candidate_id"] = ids[rows[0]]


st.caption("Click a row to open its candidate.")
st.dataframe(
    queue_rows,
    hide_index=True,
    width="stretch",
    on_select=_picked_row,
    selection_mode="single-row",
    key="queue_table",
)
download_csv(queue_rows, f"candidates_{status}.csv", key="queue_csv")
if wanted in by_id and (st.session_state.get("_candidate_from_url") != wanted or fresh):
    st.session_state["candidate_id"] = wanted
    st.session_state["_candidate_from_url"] = wanted
if st.session_state.get("candidate_id") not in by_id:
    st.session_state.pop("candidate_id", None)
chosen = by_id[str(st.selectbox("Candidate", ids, key="candidate_id"))]
remember("candidate", chosen.id)


def _stale(candidate: Candidate) -> bool:
    try:
        return desk.is_stale(candidate)
    except UserError as exc:
        show_error(exc)
        return False


def _after_regate_error(exc: UserError) -> None:
    """A conflict or a failed re-gate changed the candidate: show it on the reloaded page."""
    if isinstance(exc, MergeConflict | StaleCandidate):
        st.session_state["approval_flash_error"] = str(exc)
        st.rerun()
    show_error(exc)


def _approve(candidate: Candidate, comment: str, *, stale: bool) -> None:
    try:
        with st.spinner("Re-gating on main's head..." if stale else "Approving..."):
            outcome = desk.approve(candidate.id, user, comment)
    except UserError as exc:
        _after_regate_error(exc)
        return
    prefix = f"re-gated on main {outcome.regated_on[:12]}, passed; " if outcome.regated_on else ""
    st.session_state["approval_flash"] = prefix + (
        f"{candidate.id} shipped: merge commit {outcome.merge_sha}"
        if outcome.merge_sha
        else f"{candidate.id}: approval {len(outcome.approvals)} of "
        f"{outcome.approvals_needed} recorded"
    )
    st.rerun()


def _decide(candidate: Candidate, view: DecisionView) -> None:
    """Approve (after a confirmation), reject, or re-gate a waiting candidate."""
    stale = _stale(candidate)
    if stale:
        st.warning(
            escape(
                f"main has moved since this candidate was gated on {candidate.base_sha[:12]}. "
                "Approving re-gates it first: main is merged into its branch and the agent is "
                "replayed on the stored case sets; it ships only if it still passes."
            )
        )
        if st.button("Re-gate on main's head", key="regate"):
            try:
                with st.spinner("Re-gating: merging main and replaying..."):
                    fresh = desk.regate(candidate.id, user)
            except UserError as exc:
                _after_regate_error(exc)
            else:
                verdict = "passes" if fresh.gate.passed else "fails"
                st.session_state["approval_flash"] = (
                    f"{candidate.id} re-gated on main {fresh.base_sha[:12]}: it {verdict} its gate"
                )
                st.rerun()
    pending = st.session_state.get("approve_pending")
    if pending and pending.get("candidate") == candidate.id:
        ships = view.ships_on_approval
        st.warning(
            escape(
                f"Approve {candidate.id}? "
                + (
                    f"This merges {candidate.branch} into {candidate.main_branch} of "
                    f"{candidate.repo}"
                    + (" after re-gating it on main's head" if stale else "")
                    + "; a rollback reverts it."
                    if ships
                    else "This records your approval; a "
                    f"{view.severity} fix needs {view.approvals_needed} "
                    "approvers before it ships."
                )
            )
        )
        yes, no = st.columns(2)
        if yes.button(
            "Yes, approve" + (" and ship" if ships else ""), key="confirm_approve", type="primary"
        ):
            st.session_state.pop("approve_pending", None)
            _approve(candidate, str(pending.get("comment", "")), stale=stale)
        if no.button("Cancel", key="cancel_approve"):
            st.session_state.pop("approve_pending", None)
            st.rerun()
        return
    with st.form("decision"):
        comment = st.text_area("Comment", key="decision_comment")
        go, stop = st.columns(2)
        approved = go.form_submit_button("Approve", type="primary")
        rejected = stop.form_submit_button("Reject")
    if approved:
        if view.refused is not None:
            _approve(candidate, comment, stale=stale)  # refused: approve() audits the attempt
        else:
            st.session_state["approve_pending"] = {"candidate": candidate.id, "comment": comment}
            st.rerun()
    if rejected:
        try:
            desk.reject(candidate.id, user, comment)
        except UserError as exc:
            _after_regate_error(exc)
        else:
            st.session_state["approval_flash"] = f"{candidate.id} rejected"
            st.rerun()


# -- the decision: what changes, for which cluster, the gate's verdict, any staleness ----------
view = desk.decision_view(chosen, user)
approved_by = view.approvals
st.header(plain(f"{chosen.id}: a fix for {chosen.cluster_id}", limit=200))
link("cluster", chosen.cluster_id, f"{chosen.cluster_id} · {chosen.cluster_label or 'cluster'}")
st.text(
    f"{STATUS_WORDS.get(chosen.status, chosen.status).capitalize()} · severity "
    f"{view.severity} · priority {priority_text(chosen.priority)} · by {chosen.author}"
    f"{' (' + chosen.strategy + ')' if chosen.strategy else ''} · gated {when(chosen.created_at)}\n"
    f"Changes branch {chosen.branch} (off {chosen.base_sha[:12]}) · approvals "
    f"{len(approved_by)} of {view.approvals_needed}"
    + (f" ({', '.join(approved_by)})" if approved_by else "")
)
_verdict(chosen)

if view.rework_reason is not None:
    st.warning("Needs rework: " + escape(view.rework_reason))
if not may_decide(user):
    st.info(f"Deciding needs the approver role; you are a {user.role.value}.")
elif chosen.status == "gated":
    _decide(chosen, view)
elif chosen.status == "shipped":
    ship = view.ship
    if ship:
        st.text(f"Shipped as merge commit {ship['merge_sha']} on {when(ship['shipped_at'])}")
    with st.form("rollback"):
        comment = st.text_area("Why roll back?", key="rollback_comment")
        if st.form_submit_button("Roll back"):
            try:
                outcome = desk.rollback(chosen.id, user, comment)
            except UserError as exc:
                show_error(exc)
            else:
                st.session_state["approval_flash"] = (
                    f"{chosen.id} rolled back: revert commit {outcome.revert_sha}"
                )
                st.rerun()

# -- what changes: the diff; then the evidence ---------------------------------------------------
st.subheader("Diff")
if chosen.diff:
    lines = diff_lines(chosen.diff)
    from_traces = traces_in(lines)
    marked = sum(line.from_trace for line in lines)
    if marked:
        st.caption(
            f"{count(marked, 'line')} on a yellow band came from production traces: users' "
            "words the agent will read. Check they hold no instruction, secret or personal data."
        )
    st.html(diff_html(lines))
    if from_traces:
        with st.expander(f"Open the {count(len(from_traces), 'trace')} these lines came from"):
            for trace_id in from_traces[:20]:
                link("trace", trace_id)
            if len(from_traces) > 20:
                st.caption(f"and {count(len(from_traces) - 20, 'more trace')}")
else:
    st.write("(empty diff)")
st.subheader("Rationale")
st.text(chosen.rationale or "—")
st.subheader("Gate details")
st.caption(f"Replay run {chosen.replay_run}")
_gate_table(chosen)
st.subheader(f"Cases that flipped ({len(chosen.flips)})")
if chosen.flips:
    st.caption("Click a case to see its input, and the baseline's output beside the candidate's.")
    st.html(flips_html(chosen.flips[:20]))  # one element: the cases' text, closed
else:
    st.write("None recorded.")
if len(chosen.flips) > 20:
    st.caption(f"and {count(len(chosen.flips) - 20, 'more case')}")

st.subheader("Audit trail of this candidate")
trail = [
    {
        "#": r.id,
        "When": when(r.at),
        "Who": r.actor,
        "Action": r.action.replace("_", " "),
        "Details": details(r.detail),
    }
    for r in audit_records(db, subject=chosen.id, limit=50)
]
if trail:
    st.dataframe(trail, hide_index=True, width="stretch")
else:
    st.write("Nothing recorded yet.")
