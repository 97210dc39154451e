"""Fault injection over the whole nightly loop: `kill -9` twice in every stage, then a clean run.

Two copies of one demo project: one runs `flywheel nightly` uninterrupted; the other is killed
with a real SIGKILL (the ``FLYWHEEL_FAULT_AT`` test hook, flywheel/nightly/_faults.py) twice in
each stage in turn: first in the middle of the stage (inside one of its database commits, so
that transaction is lost and the earlier ones are kept), then once more after the resumed stage
did all its work but before it was recorded as finished. Every invocation but the first resumes
the same run. A last, clean invocation finishes it. Both databases then hold the same rows:
the same traces, clusters, triage, candidates (diff for diff), gate decisions and approval
queue, and no row twice.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from flywheel.project import init_project, load_project
from optimizers import OptimizerStore, open_workspace

# A killed run twice per stage and two whole ones: about 5 minutes alone, more on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
CLI = "from flywheel.cli import main; main()"

# Small traffic, relaxed gate: some candidates pass, so the queue stage has work too.
SETTINGS = """
[nightly]
max_clusters = 50

[optimize]
max_candidates_per_cluster = 2

[replay]
agent = "python:tests.replay.agents:demo_run"

[replay.gate]
alpha = 0.99
cost_budget = 3.0
min_validation_cases = 3
"""

# (stage, where the first kill lands, where the second lands); a commit number is one the
# stage's first attempt reaches on this project (it makes 13, 1, 6, 8, 7, ~220, 4, 0).
KILLS = [
    ("ingest", "commit:6", "end"),
    ("detect", "commit:1", "end"),
    ("cluster", "commit:3", "end"),
    ("triage", "commit:4", "end"),
    ("optimize", "commit:3", "end"),
    ("gate", "commit:100", "end"),
    ("queue", "commit:2", "end"),
    ("drift", "start", "end"),
]

# Columns that legitimately differ between two runs of the same work: wall-clock times and
# durations, the hash chains over them, the run's own bookkeeping (attempts, summaries of
# what each attempt did, checked apart), random run ids, one ingest run id per attempt.
VOLATILE = {"seconds", "duration_s", "latency_ms", "hash", "prev_hash", "attempts"}
VOLATILE_IN = {
    "nightly_stages": {"summary", "counts"},
    "nightly_inbox_files": {"counts"},
    "traces": {"ingestion_run_id"},
    "quarantine": {"run_id"},
    "replay_runs": {"id", "counts"},
    "replay_results": {"run_id"},
    "ui_candidates": {"replay_run"},
}
# JSON keys that record what one attempt found, not what it made: a clustering resumed after a
# kill finds the embeddings its killed attempt cached ("cached" instead of "embedded").
ATTEMPT_KEYS = {"embedding"}
# Tables that record attempts, not results: a killed attempt is a row of its own.
ATTEMPT_LOGS = {"ingestion_runs", "run_locks"}
# Git commits of both copies get the same dates, so the same content has the same hash.
GIT_DATES = {
    "GIT_AUTHOR_DATE": "1767225600 +0000",
    "GIT_COMMITTER_DATE": "1767225600 +0000",
}


def _env(fault: str | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env.update(GIT_DATES)
    for name in ("FLYWHEEL_DATABASE_URL", "FLYWHEEL_PROJECT", "FLYWHEEL_FAULT_AT"):
        env.pop(name, None)
    if fault is not None:
        env["FLYWHEEL_FAULT_AT"] = fault
    return env


def _nightly(root: Path, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, "-p", str(root), "nightly", "--json"],
        capture_output=True,
        text=True,
        env=_env(fault),
        timeout=600,
        check=False,
    )


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    for name in ("flywheel.toml", ".flywheel/optimizers/workspace.json"):
        path = target / name
        if path.is_file():  # absolute paths of the configuration repository
            path.write_text(path.read_text().replace(str(source), str(target)))
    return target


def _rows(root: Path) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every table's rows as a multiset, without the columns that name a moment in time, and
    with the project's own folder written as <root>."""
    db = sqlite3.connect(root / ".flywheel" / "flywheel.db")
    here = str(root)

    def plain(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("{"):
            with contextlib.suppress(ValueError):
                value = json.dumps(_untimed(json.loads(value)), sort_keys=True)
        if isinstance(value, str):
            return value.replace(here, "<root>")
        if isinstance(value, bytes):
            return value.replace(here.encode(), b"<root>")
        return value

    try:
        tables = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        found: dict[str, Counter[tuple[Any, ...]]] = {}
        for table in tables:
            skip = VOLATILE | VOLATILE_IN.get(table, set())
            columns = [
                (c[1], str(c[2]).upper()) for c in db.execute(f"PRAGMA table_info('{table}')")
            ]
            kept = ", ".join(
                f'"{name}"'
                for name, kind in columns
                if kind not in ("DATETIME", "TIMESTAMP") and name not in skip
            )
            rows = db.execute(f"SELECT {kept} FROM '{table}'")
            found[table] = Counter(tuple(plain(v) for v in row) for row in rows)
        return found
    finally:
        db.close()


def _untimed(data: Any) -> Any:
    """A JSON value without the timings it records (``seconds``, ``*_per_s``)."""
    if isinstance(data, dict):
        return {
            k: _untimed(v)
            for k, v in data.items()
            if k not in VOLATILE and k not in ATTEMPT_KEYS and not str(k).endswith("_per_s")
        }
    if isinstance(data, list):
        return [_untimed(v) for v in data]
    return data


def _summaries(report: dict[str, Any]) -> dict[str, Any]:
    """What the night's report says each stage made (not how much each attempt did)."""
    by_name = {s["name"]: s["summary"] for s in report["stages"]}
    return {
        "ingest": by_name["ingest"]["files"],
        "cluster": (by_name["cluster"]["new"], by_name["cluster"]["clusters"]),
        "triage": by_name["triage"]["triaged"],
        "optimize": sorted(
            (c["cluster_id"], c["strategy"], c["branch"]) for c in by_name["optimize"]["candidates"]
        ),
        "gate": [
            (d["cluster_id"], d["decision"], d["reasons"]) for d in by_name["gate"]["decisions"]
        ],
        "queue": (len(by_name["queue"]["imported"]), by_name["queue"]["queue_size"]),
    }


def _candidates(root: Path) -> list[tuple[Any, ...]]:
    project = load_project(root)
    workspace = open_workspace(project)
    with project.open_store() as store:
        records = OptimizerStore(store).candidates()
    return sorted(
        (
            r.cluster_id,
            r.strategy,
            r.status,
            r.branch or "",
            tuple(r.files_changed),
            workspace.diff(r.branch) if r.status == "proposed" and r.branch else r.reason,
        )
        for r in records  # a closed candidate's branch is deleted: its reason says why
    )


def _differences(
    expected: dict[str, Counter[tuple[Any, ...]]], got: dict[str, Counter[tuple[Any, ...]]]
) -> dict[str, Any]:
    problems: dict[str, Any] = {}
    for table in sorted(set(expected) | set(got)):
        if table in ATTEMPT_LOGS:
            continue
        want, have = expected.get(table, Counter()), got.get(table, Counter())
        if want != have:
            problems[table] = {
                "rows": (sum(want.values()), sum(have.values())),
                "missing": list((want - have).elements())[:3],
                "extra": list((have - want).elements())[:3],
            }
    return problems


def test_kill_9_twice_in_every_stage_then_a_clean_run_ends_as_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    world = importlib.import_module("examples.acme_assistant.cli")
    base = tmp_path / "base"
    config = base / "agent-config"
    shutil.copytree(world.DEFAULT_CONFIG_DIR, config)
    os.environ.pop("FLYWHEEL_DATABASE_URL", None)
    init_project(base, config_repo=config)
    toml = base / "flywheel.toml"
    toml.write_text(toml.read_text().replace("batch_size = 2000", "batch_size = 50") + SETTINGS)
    world.generate(300, 3, config, base / "inbox" / "day-1.jsonl", None)

    reference = _copy(base, tmp_path / "reference")
    done = _nightly(reference)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = json.loads(done.stdout)
    work = {s["name"]: s["counts"] for s in expected["stages"]}
    assert work["optimize"]["candidates"] > 0, work
    assert work["queue"]["imported"] > 0, work

    crashed = _copy(base, tmp_path / "crashed")
    for stage, first, second in KILLS:
        for point in (first, second):
            killed = _nightly(crashed, f"{stage}:{point}")
            assert killed.returncode == -signal.SIGKILL, (
                f"{stage}:{point} was not reached (exit {killed.returncode}): "
                f"{killed.stderr[-1500:]}"
            )
    clean = _nightly(crashed)
    assert clean.returncode == 0, clean.stderr[-2000:]
    report = json.loads(clean.stdout)
    assert report["resumed"] is True
    assert report["run_id"] == expected["run_id"]
    assert report["status"] == "finished"
    attempts = {s["name"]: s["attempts"] for s in report["stages"]}
    assert attempts == {stage: 3 for stage, _, _ in KILLS}

    assert _differences(_rows(reference), _rows(crashed)) == {}
    assert _summaries(report) == _summaries(expected)
    assert _candidates(crashed) == _candidates(reference)
    workspace = open_workspace(load_project(crashed))
    assert (
        workspace.candidate_branches()
        == open_workspace(load_project(reference)).candidate_branches()
    )
    on_disk = sorted(p.name for p in (crashed / ".flywheel" / "worktrees").glob("*/*"))
    expected_disk = sorted(p.name for p in (reference / ".flywheel" / "worktrees").glob("*/*"))
    assert on_disk == expected_disk
