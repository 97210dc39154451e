"""Audit log: every decision, newest first, and whether the hash chain still holds."""

from __future__ import annotations

import streamlit as st

from ui._audit import audit_records, verify_audit
from ui._auth import current_user
from ui._context import store
from ui._render import escape

PAGE = 50

current_user()
db = store()
st.title("Audit log")
if st.button("Verify the chain"):
    check = verify_audit(db)
    if check.ok:
        st.success(f"The chain holds: {check.records} records.")
    else:
        st.error(escape(f"Record {check.first_bad_id} is bad: {check.reason}"))
page = int(st.number_input("Page", 1, 10_000, 1, key="audit_page"))
records = audit_records(db, limit=PAGE, offset=(page - 1) * PAGE)
if not records:
    st.write("No records.")
else:
    st.dataframe(
        [
            {
                "#": r.id,
                "at": r.at.isoformat(timespec="seconds"),
                "who": r.actor,
                "action": r.action,
                "subject": r.subject,
                "detail": str(r.detail),
                "hash": r.hash[:16],
            }
            for r in records
        ],
        hide_index=True,
        width="stretch",
    )
