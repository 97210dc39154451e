"""Numbers, dates and words as a reviewer reads them, and a CSV download for any table.

Pages show "3 failing traces", "1 version", "6 Dec 2026, 14:05 UTC", "+25%", "—" for nothing;
never ``None``, a Python dict or a raw column name.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import altair as alt
import pandas as pd  # type: ignore[import-untyped]
import streamlit as st

#: A y axis of counts: whole numbers only (no 0.5 ticks).
COUNT_AXIS = alt.Axis(format="d", tickMinStep=1)

#: What a candidate's status means, in words.
STATUS_WORDS = {
    "gated": "waiting for approval",
    "needs_rework": "needs rework",
    "shipped": "shipped",
    "rejected": "rejected",
    "rolled_back": "rolled back",
}


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 version``, ``2 versions``, ``1,204 failing traces``."""
    word = noun if n == 1 else (plural or f"{noun}s")
    return f"{n:,} {word}"


def when(moment: datetime | None) -> str:
    """A timestamp for people: ``6 Dec 2026, 14:05 UTC`` (— when there is none)."""
    if moment is None:
        return "—"
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def growth_text(growth: float | None) -> str:
    return "—" if growth is None else f"{growth:+.0%}"


def priority_text(priority: float | None) -> str:
    return "—" if priority is None else f"{priority:.2f}"


def number(value: float | int | None, digits: int = 2) -> str:
    """A number with thousands separators, or — for nothing."""
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def yes_no(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


def details(detail: dict[str, Any] | None) -> str:
    """A record's details as ``key: value · key: value`` (nested values as compact JSON)."""
    if not detail:
        return "—"
    parts = []
    for key, value in detail.items():
        if value is None or value in ("", [], {}):
            continue
        shown = (
            value
            if isinstance(value, str | int | float)
            else json.dumps(value, default=str, separators=(", ", ": "))
        )
        parts.append(f"{str(key).replace('_', ' ')}: {shown}")
    return " · ".join(parts) or "—"


def download_csv(
    records: list[dict[str, Any]], file_name: str, *, key: str, label: str = "Download CSV"
) -> None:
    """A download button for a table's rows (the whole list given, not only what is shown)."""
    if not records:
        return
    data = pd.DataFrame.from_records(records).to_csv(index=False).encode("utf-8")
    st.download_button(label, data, file_name=file_name, mime="text/csv", key=key)
