"""The nightly run's bookkeeping on both backends, with the core stages only (fast)."""

from __future__ import annotations

import json
import os

import pytest

from flywheel.errors import UserError
from flywheel.nightly import NightlyOptions, drift_history, latest_report, run_nightly
from flywheel.project import Project

CORE = ("ingest", "detect")


def _write(project: Project, name: str, ids: list[str]) -> None:
    inbox = project.root / "inbox"
    inbox.mkdir(exist_ok=True)
    lines = [json.dumps({"trace_id": i, "input": f"question {i}", "output": "ok"}) for i in ids]
    (inbox / name).write_text("\n".join(lines) + "\n")


def test_an_unknown_stage_is_refused_with_the_valid_ones(project: Project) -> None:
    with pytest.raises(UserError, match=r"unknown nightly stage\(s\) nope; valid: .*ingest"):
        run_nightly(project, options=NightlyOptions(stages=("ingest", "nope")))


def test_inbox_files_are_ingested_once_and_again_when_they_change(project: Project) -> None:
    _write(project, "a.jsonl", ["t1", "t2"])
    first = run_nightly(project, options=NightlyOptions(stages=CORE))
    ingest = first.stage("ingest")
    assert ingest is not None
    assert ingest.summary["files"] == ["a.jsonl"]
    assert ingest.summary["stored"] == 2
    assert first.stage("detect").counts["evaluated"] == 2  # type: ignore[union-attr]
    assert (project.root / ".flywheel" / "reports" / f"nightly-{first.run_id}.md").is_file()

    second = run_nightly(project, options=NightlyOptions(stages=CORE))
    assert second.run_id != first.run_id
    assert second.stage("ingest").counts == {"files": 0, "stored": 0}  # type: ignore[union-attr]
    assert second.stage("ingest").summary["skipped"] == 1  # type: ignore[union-attr]

    _write(project, "a.jsonl", ["t1", "t2", "t3"])
    stat = (project.root / "inbox" / "a.jsonl").stat()
    os.utime(project.root / "inbox" / "a.jsonl", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = run_nightly(project, options=NightlyOptions(stages=CORE))
    ingest = third.stage("ingest")
    assert ingest is not None
    assert (ingest.summary["stored"], ingest.summary["duplicates"]) == (1, 2)

    latest = latest_report(project)
    assert latest is not None
    assert latest["run_id"] == third.run_id
    with project.open_store() as store:
        assert drift_history(store) == []
