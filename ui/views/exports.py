"""Exports: post-training data files with their dataset cards; run a new export."""

from __future__ import annotations

import streamlit as st

from flywheel.errors import UserError
from ui._auth import current_user
from ui._context import project, store
from ui._format import show_table
from ui._render import escape, show_error
from ui.approvals import KINDS, exported_files, exports_dir, may_export, run_export

#: Larger exports are copied from the server, not sent through the browser session.
DOWNLOAD_LIMIT = 100 * 1024 * 1024

user = current_user()
db = store()
folder = exports_dir(project())
st.title("Exports")
st.caption(
    escape(
        f"Post-training data (OpenAI chat SFT, TRL preference pairs, eval sets) with provenance, "
        f"in {folder}. The CLI writes anywhere: flywheel export sft|preference|eval --out FILE"
    )
)
flash = st.session_state.pop("export_flash", None)
if flash:
    st.success(escape(flash))

if may_export(user):
    with st.form("export"):
        kind = st.selectbox("Format", KINDS, key="export_kind")
        if st.form_submit_button("Export now"):
            try:
                with st.spinner(f"Exporting {kind}..."):
                    report = run_export(db, project(), user, str(kind))
            except UserError as exc:
                show_error(exc)
            else:
                st.session_state["export_flash"] = (
                    f"wrote {report.records} {report.kind.value} records to {report.out}"
                )
                st.rerun()
else:
    st.info(f"Running an export needs the approver role; you are a {user.role.value}.")

files = exported_files(folder)
if not files:
    st.info("No exports in this folder yet.")
    st.stop()
show_table(
    [
        {
            "file": f.name,
            "records": f.records,
            "size": f"{f.bytes / 1024:,.1f} KB",
            "written": f.modified,
            "card": f.card.name if f.card else "—",
        }
        for f in files
    ],
    key="exports_csv",
    file_name="exports.csv",
    names={"card": "Dataset card"},
)
by_name = {f.name: f for f in files}
chosen = by_name[str(st.selectbox("Export", list(by_name), key="export_file"))]
if chosen.bytes <= DOWNLOAD_LIMIT:
    with chosen.path.open("rb") as data:
        st.download_button(
            f"Download {chosen.name}",
            data.read(),
            file_name=chosen.name,
            mime="application/jsonl",
            key="export_download",
        )
else:
    st.caption(escape(f"Too large to download through the app; the file is {chosen.path}"))
st.subheader("Dataset card")
if chosen.card is not None:
    st.code(chosen.card.read_text(encoding="utf-8"), language="markdown", wrap_lines=True)
else:
    st.text("No dataset card beside this file.")
st.subheader("First records")
with chosen.path.open(encoding="utf-8") as handle:
    head = [next(handle, "") for _ in range(3)]
st.code("".join(head) or "—", language="json", wrap_lines=True)
