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


#: Column names that say more than their words (the rest: ``failing_week`` -> "Failing week").
_NAMES = {
    "id": "#",
    "pk": "#",
    "cluster_id": "Cluster",
    "candidate_id": "Candidate",
    "trace_id": "Trace",
    "case_id": "Case",
    "run_id": "Run",
    "triage_said": "Triage said",
    "p_value": "p-value",
    "replay_run": "Replay run",
    "gate_passed": "Gate passed",
}


def column_name(key: str) -> str:
    """``cluster_id`` -> "Cluster", ``target_fixed`` -> "Target fixed"."""
    if key in _NAMES:
        return _NAMES[key]
    words = key.replace("_", " ").strip()
    if words.endswith(" id"):
        words = words[:-3]
    return words[:1].upper() + words[1:]


def cell(value: Any) -> Any:
    """A value as a person reads it: — for nothing, yes/no, dates, details instead of dicts."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, dict):
        return details(value)
    if isinstance(value, list | tuple | set):
        return ", ".join(str(cell(v)) for v in value) or "—"
    if isinstance(value, float):
        return round(value, 4)
    return value


def show_table(
    records: list[dict[str, Any]],
    *,
    key: str,
    file_name: str,
    names: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Records as a table with human column names and values, and a CSV download of it.

    Returns the rows as shown (for a page that needs them)."""
    names = names or {}
    rows = [
        {names.get(k, column_name(k)): cell(v) for k, v in record.items() if k not in drop}
        for record in records
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    download_csv(rows, file_name, key=key)
    return rows
