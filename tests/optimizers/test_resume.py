"""A crash in the middle of optimize: the rerun makes the same candidates, nothing is left over."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import git
import pytest

from flywheel.nightly import NightlyOptions, StageContext
from optimizers import InlineExecutor, OptimizerStore, optimize
from optimizers._stage import OptimizeStage
from tests.helpers.optimizers import fresh_project, outcome, sample_clusters

T = TypeVar("T")


class Killed(BaseException):
    """Stands for the process dying: not an `Exception`, so nothing on the way catches it."""


class DiesAfterTheJobs(InlineExecutor):
    """Runs every job (branches and worktrees are made), then dies before results are saved."""

    def __init__(self) -> None:
        self.jobs = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        fn(*args, **kwargs)
        future: Future[T] = Future()
        future.set_exception(Killed())
        return future


def test_a_rerun_after_a_crash_in_optimize_makes_the_same_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference_project, reference_ws = fresh_project(tmp_path, "reference", monkeypatch)
    with reference_project.open_store() as store:
        optimize(store, reference_ws, sample_clusters(), executor=InlineExecutor())
    expected = outcome(reference_project, reference_ws)
    assert any(branch for _, _, branch, *_ in expected)

    project, ws = fresh_project(tmp_path, "crashed", monkeypatch)
    with project.open_store() as store, pytest.raises(Killed):
        optimize(store, ws, sample_clusters(), executor=DiesAfterTheJobs())
    left = ws.candidate_branches()
    assert left, "the crash should leave branches behind"
    # a kill between `git worktree add -b` and the commit: the branch is still at main
    first = left[0]
    worktree = next(p for p in ws.info.worktrees.glob("*/*") if first.endswith(p.name))
    ws.remove(first, worktree, delete_branch=True)
    with git.Repo(ws.info.repo) as repo:
        repo.git.worktree("add", "-b", first, str(worktree), "main")
    with project.open_store() as store:
        assert OptimizerStore(store).candidates() == []
        # a stray directory in the worktrees folder, as a kill during `worktree add` leaves
        (ws.info.worktrees / "c-0001" / "stray-9").mkdir(parents=True)
        optimize(store, ws, sample_clusters(), executor=InlineExecutor())

    assert outcome(project, ws) == expected
    with project.open_store() as store:
        records = OptimizerStore(store).candidates()
    assert not [r.reason for r in records if "already exists" in r.reason]
    assert ws.candidate_branches() == sorted(r.branch for r in records if r.branch)
    kept = {Path(r.worktree).resolve() for r in records if r.worktree}
    on_disk = {p.resolve() for p in ws.info.worktrees.glob("*/*")}
    assert on_disk == kept
    with git.Repo(ws.info.repo) as repo:
        listed = str(repo.git.worktree("list", "--porcelain"))
    assert listed.count("worktree ") == 1 + len(kept)


def test_a_persons_own_branch_under_flywheel_is_never_cleared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, ws = fresh_project(tmp_path, "own", monkeypatch)
    with git.Repo(ws.info.repo) as repo:
        repo.git.branch("flywheel/mine")
    with project.open_store() as store:
        optimize(store, ws, sample_clusters(), executor=InlineExecutor())
    assert "flywheel/mine" in ws.candidate_branches()


def test_a_resumed_stage_reports_the_candidates_its_killed_attempt_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, ws = fresh_project(tmp_path, "saved", monkeypatch)
    began = datetime.now(UTC)
    with project.open_store() as store:
        saved = optimize(store, ws, sample_clusters(), executor=InlineExecutor())
        # the rerun finds nothing left to do (no triaged cluster waits), as after such a kill
        context = StageContext(
            project=project, store=store, options=NightlyOptions(), run_id=1, run_started_at=began
        )
        result = OptimizeStage().run(context)
        later = OptimizeStage().run(
            StageContext(
                project=project,
                store=store,
                options=NightlyOptions(),
                run_id=2,
                run_started_at=datetime.now(UTC) + timedelta(seconds=1),
            )
        )
    assert saved.candidates
    assert [c["id"] for c in result.summary["candidates"]] == [
        str(c.candidate_id) for c in saved.candidates
    ]
    assert later.summary["candidates"] == []
