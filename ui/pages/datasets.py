"""Datasets: what the store holds today; regression and export datasets are not built yet."""

from __future__ import annotations

import streamlit as st

from ui._auth import current_user
from ui._context import store

current_user()
db = store()
st.title("Datasets")
st.info(
    "Regression, blocking and target datasets (fixed failures joining the regression set) "
    "are not built yet. This page shows what exists: the ingested traces."
)
a, b, c = st.columns(3)
a.metric("Traces", db.count_traces())
b.metric("Failing", db.count_traces(failing=True))
c.metric("Quarantined records", db.count_quarantined())
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
