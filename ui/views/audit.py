"""Audit log: every decision, newest first, and whether the hash chain still holds."""

from __future__ import annotations

import streamlit as st

from ui._auth import current_user
from ui._context import store
from ui._format import count, details, show_table
from ui._render import escape
from ui.approvals import audit_records, verify_audit

PAGE = 50

current_user()
db = store()
st.title("Audit log")
if st.button("Verify the chain"):
    check = verify_audit(db)
    if check.ok:
        st.success(f"The chain holds: {count(check.records, 'record')}.")
    else:
        st.error(escape(f"Record {check.first_bad_id} is bad: {check.reason}"))
f_actor, f_action, f_subject = st.columns(3)
actor = f_actor.text_input("Who", key="audit_actor").strip() or None
action = f_action.text_input("Action", key="audit_action", placeholder="e.g. ship").strip() or None
subject = f_subject.text_input("Subject", key="audit_subject").strip() or None
page = int(st.number_input("Page", 1, 10_000, 1, key="audit_page"))
records = audit_records(
    db, limit=PAGE, offset=(page - 1) * PAGE, subject=subject, actor=actor, action=action
)
if not records:
    st.info(
        "No record matches these filters."
        if actor or action or subject
        else "Nothing recorded yet: sign-ins, labels, approvals, ships and rollbacks land here."
    )
else:
    show_table(
        [
            {
                "id": r.id,
                "at": r.at,
                "who": r.actor,
                "action": r.action.replace("_", " "),
                "subject": r.subject,
                "details": details(r.detail),
                "hash": r.hash[:16],
            }
            for r in records
        ],
        key="audit_csv",
        file_name="audit_log.csv",
        names={"at": "When"},
    )
