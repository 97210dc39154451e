"""The probe as a user meets it: one far-future trace, then This week and Clusters render."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flywheel.ingest import ingest_paths
from flywheel.project import init_project
from tests.helpers.app import _page, _plain
from tests.helpers.native import write_lines


def test_a_far_future_trace_neither_crashes_nor_moves_the_week(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    project, _ = init_project(tmp_path / "project")
    monkeypatch.setenv("FLYWHEEL_PROJECT", str(project.root))
    today = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    lines = [
        {"trace_id": "now", "input": "hello", "timestamp": today.isoformat()},
        {"trace_id": "soon", "input": "hi", "timestamp": (today + timedelta(days=90)).isoformat()},
        {"trace_id": "far", "input": "hi", "timestamp": "9999-12-31T23:59:59.999999Z"},
    ]
    with project.open_store() as store:
        ingest_paths(store, [write_lines(tmp_path / "t.jsonl", [json.dumps(x) for x in lines])])
    week = _page("this_week").run()
    assert not week.exception, week.exception
    assert {m.label: m.value for m in week.metric}["Traces"] == "1"
    caption = _plain(week.caption[0].value)
    assert f"({today:%Y-%m-%d}" in caption, caption
    clusters = _page("clusters").run()
    assert not clusters.exception, clusters.exception
