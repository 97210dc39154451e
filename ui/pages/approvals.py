"""Approval queue: gated candidates, highest priority first; approve, reject, roll back."""

from __future__ import annotations

import streamlit as st

from flywheel.errors import UserError
from ui._approvals import (
    StaleCandidate,
    approvals_of,
    approve,
    is_stale,
    regate_candidate,
    reject,
    rollback,
    ship_of,
)
from ui._audit import audit_records
from ui._auth import current_user
from ui._candidates import Candidate, StoreQueue
from ui._context import project, store
from ui._git import MergeConflict
from ui._import import decision_hook, import_gated
from ui._queries import candidate_counts
from ui._regate import project_regate
from ui._render import escape, plain, show_error, show_pair
from ui._rules import approvers_needed
from ui._users import Role

PAGE = 20

user = current_user()
db = store()
queue = StoreQueue(db)
st.title("Approval queue")
counts = candidate_counts(db)
st.caption(
    " · ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "No candidates yet."
)
if user.may(Role.approver) and st.button("Import gated candidates from replay"):
    try:
        found = import_gated(db, project())
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

status = st.radio(
    "Show",
    ["gated", "needs_rework", "shipped", "rejected", "rolled_back"],
    horizontal=True,
    key="queue_status",
)
total = queue.count(status=status)
pages = max(1, -(-total // PAGE))
page = int(st.number_input("Page", 1, pages, 1, key="queue_page")) if pages > 1 else 1
candidates = queue.queue(status=status, limit=PAGE, offset=(page - 1) * PAGE)
if not candidates:
    st.info(f"No {status} candidates.")
    st.stop()
st.dataframe(
    [
        {
            "candidate": c.id,
            "cluster": c.cluster_id,
            "severity": c.severity,
            "priority": c.priority,
            "fixed": c.gate.target_fixed,
            "broken": c.gate.target_broken,
            "p": c.gate.target_p_value,
            "gate": "pass" if c.gate.passed else "fail",
            "author": c.author,
        }
        for c in candidates
    ],
    hide_index=True,
    width="stretch",
)
by_id = {c.id: c for c in candidates}
chosen = by_id[str(st.selectbox("Candidate", list(by_id), key="candidate_id"))]


def _interval(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"[{low:+.3f}, {high:+.3f}]"


def _gate(candidate: Candidate) -> None:
    gate = candidate.gate
    ci = gate.regression_ci
    rows = [
        {
            "check": "target slice (McNemar, one-sided)",
            "result": f"fixed {gate.target_fixed} / broken {gate.target_broken} "
            f"of {gate.target_cases}",
            "statistic": f"p = {gate.target_p_value:.4g}"
            if gate.target_p_value is not None
            else "—",
            "threshold": f"alpha {gate.target_alpha}" if gate.target_alpha is not None else "—",
        },
        {
            "check": "regression set (non-inferiority)",
            "result": f"delta {gate.regression_delta:+.3f}"
            if gate.regression_delta is not None
            else "—",
            "statistic": "95% CI " + _interval(ci.low if ci else None, ci.high if ci else None),
            "threshold": f"margin -{gate.regression_margin}"
            if gate.regression_margin is not None
            else "—",
        },
        {
            "check": "blocking set",
            "result": f"{gate.blocking_failures} newly failing of {gate.blocking_cases}",
            "statistic": "",
            "threshold": "0",
        },
    ]
    for name, guard in gate.guardrails.items():
        iv = guard.interval
        rows.append(
            {
                "check": f"guardrail: {name}",
                "result": f"x{guard.ratio:.2f} of baseline ({'ok' if guard.ok else 'over'})",
                "statistic": _interval(iv.low if iv else None, iv.high if iv else None),
                "threshold": f"budget x{guard.budget}",
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")


st.header(plain(f"{chosen.id} · {chosen.cluster_id} {chosen.cluster_label}", limit=200))
approved_by = approvals_of(db, chosen.id)
st.text(
    f"severity {chosen.severity} · priority {chosen.priority:.2f} · author {chosen.author} · "
    f"strategy {chosen.strategy or '—'} · replay run {chosen.replay_run}\n"
    f"branch {chosen.branch} (base {chosen.base_sha[:12]}) · approvals "
    f"{len(approved_by)}/{approvers_needed(chosen.severity)}"
    + (f" ({', '.join(approved_by)})" if approved_by else "")
)
st.subheader("Rationale")
st.text(chosen.rationale or "—")
st.subheader("Diff")
st.code(chosen.diff or "(empty diff)", language="diff")
st.subheader("Gate: " + ("passed" if chosen.gate.passed else "failed"))
_gate(chosen)
st.subheader("Cases that flipped")
if not chosen.flips:
    st.write("None recorded.")
for flip in chosen.flips[:20]:
    st.caption(plain(f"{flip.direction} · {flip.slice} · case {flip.case_id}", limit=200))
    st.code(flip.input or "—", language=None, wrap_lines=True)
    show_pair("baseline", flip.baseline_output, "candidate", flip.candidate_output)


def _stale(candidate: Candidate) -> bool:
    try:
        return is_stale(candidate)
    except UserError as exc:
        show_error(exc)
        return False


def _after_regate_error(exc: UserError) -> None:
    """A conflict or a failed re-gate changed the candidate: show it on the reloaded page."""
    if isinstance(exc, MergeConflict | StaleCandidate):
        st.session_state["approval_flash_error"] = str(exc)
        st.rerun()
    show_error(exc)


if chosen.status == "needs_rework":
    reasons = [
        r for r in audit_records(db, subject=chosen.id, limit=50) if r.action == "needs_rework"
    ]
    st.warning(
        "Needs rework: "
        + escape(reasons[0].detail.get("reason", "") if reasons else "its branch conflicts")
    )
if not user.may(Role.approver):
    st.info(f"Deciding needs the approver role; you are a {user.role.value}.")
elif chosen.status == "gated":
    stale = _stale(chosen)
    if stale:
        st.warning(
            escape(
                f"main has moved since this candidate was gated on {chosen.base_sha[:12]}. "
                "Approving re-gates it first: main is merged into its branch and the agent is "
                "replayed on the stored case sets; it ships only if it still passes."
            )
        )
        if st.button("Re-gate on main's head", key="regate"):
            try:
                with st.spinner("Re-gating: merging main and replaying..."):
                    fresh = regate_candidate(
                        db,
                        chosen.id,
                        user,
                        project_regate(project(), db),
                        on_decided=decision_hook(project()),
                    )
            except UserError as exc:
                _after_regate_error(exc)
            else:
                verdict = "passes" if fresh.gate.passed else "fails"
                st.session_state["approval_flash"] = (
                    f"{chosen.id} re-gated on main {fresh.base_sha[:12]}: it {verdict} its gate"
                )
                st.rerun()
    with st.form("decision"):
        comment = st.text_area("Comment", key="decision_comment")
        go, stop = st.columns(2)
        approved = go.form_submit_button("Approve", type="primary")
        rejected = stop.form_submit_button("Reject")
    if approved or rejected:
        try:
            if approved:
                with st.spinner("Re-gating on main's head..." if stale else "Approving..."):
                    outcome = approve(
                        db,
                        chosen.id,
                        user,
                        comment,
                        regate=project_regate(project(), db),
                        on_decided=decision_hook(project()),
                    )
                prefix = (
                    f"re-gated on main {outcome.regated_on[:12]}, passed; "
                    if outcome.regated_on
                    else ""
                )
                message = prefix + (
                    f"{chosen.id} shipped: merge commit {outcome.merge_sha}"
                    if outcome.merge_sha
                    else f"{chosen.id}: approval {len(outcome.approvals)} of "
                    f"{outcome.approvals_needed} recorded"
                )
            else:
                reject(db, chosen.id, user, comment, on_decided=decision_hook(project()))
                message = f"{chosen.id} rejected"
        except UserError as exc:
            _after_regate_error(exc)
        else:
            st.session_state["approval_flash"] = message
            st.rerun()
elif chosen.status == "shipped":
    ship = ship_of(db, chosen.id)
    if ship:
        st.text(f"merge commit {ship['merge_sha']} at {ship['shipped_at']}")
    with st.form("rollback"):
        comment = st.text_area("Why roll back?", key="rollback_comment")
        if st.form_submit_button("Roll back"):
            try:
                outcome = rollback(db, chosen.id, user, comment)
            except UserError as exc:
                show_error(exc)
            else:
                st.session_state["approval_flash"] = (
                    f"{chosen.id} rolled back: revert commit {outcome.revert_sha}"
                )
                st.rerun()

st.subheader("Audit trail of this candidate")
st.dataframe(
    [
        {"#": r.id, "at": r.at.isoformat(timespec="seconds"), "who": r.actor, "action": r.action}
        | {"detail": str(r.detail)}
        for r in audit_records(db, subject=chosen.id, limit=50)
    ],
    hide_index=True,
    width="stretch",
)
