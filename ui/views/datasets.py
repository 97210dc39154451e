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
from ui._format import count, show_table

PAGE = 50

current_user()
db = store()
st.title("Datasets")
a, b, c = st.columns(3)
a.metric("Traces", f"{db.count_traces():,}")
b.metric("Failing", f"{db.count_traces(failing=True):,}")
c.metric("Quarantined records", f"{db.count_quarantined():,}")


def _page_of(total: int, key: str) -> int:
    pages = max(1, -(-total // PAGE))
    return int(st.number_input("Page", 1, pages, 1, key=key)) if pages > 1 else 1


st.subheader("Eval sets")
sizes = eval_set_sizes(db)
for column, (role, size) in zip(st.columns(len(sizes)), sizes.items(), strict=True):
    column.metric(f"{role} eval set", count(size, "case"))
if any(sizes.values()):
    role = str(st.selectbox("Eval set", BROWSABLE, key="eval_role"))
    versions = eval_versions(db, role)
    st.caption(f"{count(len(versions), 'version')} of the {role} set (newest first)")
    if versions:
        show_table(versions, key="versions_csv", file_name=f"eval_{role}_versions.csv")
    page = _page_of(sizes.get(role, 0), "eval_page")
    rows = eval_case_rows(db, role, limit=PAGE, offset=(page - 1) * PAGE)
    if rows:
        show_table(rows, key="eval_csv", file_name=f"eval_{role}_cases.csv")
    else:
        st.write(f"The {role} set is empty.")
    st.caption("The holdout is frozen and read only through its guard: its cases are not listed.")
else:
    st.write(
        "No eval set yet: shipped fixes join the regression eval set, and "
        "`flywheel datasets sync` puts new failure clusters into the backlog."
    )

st.subheader("Replay case sets")
st.caption(
    "What the replay gate and the nightly replay: frozen versions built from the eval sets "
    "above (flywheel cases build). The gate's regression case set is built from the "
    "regression eval set."
)
sets = case_set_versions(db)
if sets:
    show_table(
        [{**row, "digest": row["digest"][:12]} for row in sets],
        key="case_sets_csv",
        file_name="replay_case_sets.csv",
    )
    by_digest = {row["digest"]: row for row in sets}
    digest = str(
        st.selectbox(
            "Case set version",
            list(by_digest),
            format_func=lambda d: (
                f"{by_digest[d]['suite']} · {by_digest[d]['name']} · "
                f"{d[:12]} ({count(int(by_digest[d]['cases']), 'case')})"
            ),
            key="case_set",
        )
    )
    page = _page_of(int(by_digest[digest]["cases"]), "case_page")
    show_table(
        case_rows(db, digest, limit=PAGE, offset=(page - 1) * PAGE),
        key="cases_csv",
        file_name=f"case_set_{digest[:12]}.csv",
    )
else:
    st.write("No case sets yet: flywheel cases build validation|regression|blocking")

st.subheader("Ingestion runs")
runs = db.ingestion_runs(limit=20)
if runs:
    show_table(runs, key="ingestion_csv", file_name="ingestion_runs.csv")
else:
    st.write("Nothing ingested yet: flywheel ingest FILE")
