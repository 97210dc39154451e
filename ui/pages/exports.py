"""Exports: post-training data (SFT, preference pairs) — not built yet."""

from __future__ import annotations

import streamlit as st

from ui._auth import current_user

current_user()
st.title("Exports")
st.info(
    "Exports (OpenAI chat fine-tuning JSONL, TRL preference pairs, with provenance) are not "
    "built yet. Nothing can be exported from here today."
)
