"""Datasets: the living eval sets by role, replay's case set versions and their cases."""

from __future__ import annotations

import streamlit as st

from ui._auth import current_user
from ui._context import store
from ui._datasets import (
    BROWSABLE,
    case_rows,
    case_set_versions,
    eval_case_rows,
    eval_set_sizes,
    eval_versions,
)

PAGE = 50

current_user()
db = store()
st.title("Datasets")
a, b, c = st.columns(3)
a.metric("Traces", db.count_traces())
b.metric("Failing", db.count_traces(failing=True))
c.metric("Quarantined records", db.count_quarantined())


def _page_of(total: int, key: str) -> int:
    pages = max(1, -(-total // PAGE))
    return int(st.number_input("Page", 1, pages, 1, key=key)) if pages > 1 else 1


st.subheader("Eval sets")
sizes = eval_set_sizes(db)
for column, (role, size) in zip(st.columns(len(sizes)), sizes.items(), strict=True):
    column.metric(role, size)
if any(sizes.values()):
    role = str(st.selectbox("Eval set", BROWSABLE, key="eval_role"))
    versions = eval_versions(db, role)
    st.caption(f"{len(versions)} versions of the {role} set (newest first)")
    if versions:
        st.dataframe(versions, hide_index=True, width="stretch")
    page = _page_of(sizes.get(role, 0), "eval_page")
    rows = eval_case_rows(db, role, limit=PAGE, offset=(page - 1) * PAGE)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.write(f"The {role} set is empty.")
    st.caption("The holdout is frozen and read only through its guard: its cases are not listed.")
else:
    st.write(
        "No eval set yet: shipped fixes join the regression set, and "
        "`flywheel datasets sync` puts new failure clusters into the backlog."
    )

st.subheader("Replay case sets")
sets = case_set_versions(db)
if sets:
    st.dataframe(
        [{**row, "digest": row["digest"][:12]} for row in sets], hide_index=True, width="stretch"
    )
    by_digest = {row["digest"]: row for row in sets}
    digest = str(
        st.selectbox(
            "Case set version",
            list(by_digest),
            format_func=lambda d: (
                f"{by_digest[d]['suite']} · {by_digest[d]['name']} · "
                f"{d[:12]} ({by_digest[d]['cases']} cases)"
            ),
            key="case_set",
        )
    )
    page = _page_of(int(by_digest[digest]["cases"]), "case_page")
    st.dataframe(
        case_rows(db, digest, limit=PAGE, offset=(page - 1) * PAGE),
        hide_index=True,
        width="stretch",
    )
else:
    st.write("No case sets yet: flywheel cases build validation|regression|blocking")

st.subheader("Ingestion runs")
runs = db.ingestion_runs(limit=20)
if runs:
    st.dataframe(
        [{k: str(v) if k == "paths" else v for k, v in run.items()} for run in runs],
        hide_index=True,
        width="stretch",
    )
else:
    st.write("Nothing ingested yet: flywheel ingest FILE")
