"""Simulated weeks of the whole loop on a demo world, measured against the world's own truth.

Each week: fresh traffic is generated with the configuration on main at the start of the week
(and a new seed), its true failure rates are read from the world's labels (never from
Flywheel's detection), the traffic lands in the project's inbox, and the nightly run ingests,
clusters, triages, optimizes, replays, gates and queues. Candidates that passed the gate are
approved by the automated approvers through the same rules and audit log as a human would, so
the next week's traffic runs on what shipped.

A mode "worsened" when the week's fixes broke requests with it: the week's own requests are
run through the world under main before and after the night's fixes (the world draws the same
random numbers for the same request, so the pair differs only by the configuration), and a
mode is worse when requests that succeeded before now fail with it significantly more often
than the reverse. Requests that failed before and fail with another mode after are reported
apart ("unmasked"): a routing fix that makes the agent search exposes retrieval misses that
answering from memory had hidden; those users were failed before too.

The world is any `flywheel.worlds.ReplayableWorld` (the demo, the Acme assistant, by default):
its ``generate`` writes the traffic and labels, ``truth`` replays a request's hidden outcome
under a configuration, ``DEFAULT_CONFIG_DIR`` is the configuration a project starts from,
``AGENT`` how replay reaches the agent, ``CONFIG_FIXABLE`` the modes a fix may reduce.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from flywheel.config import CONFIG_FILE, load_settings
from flywheel.errors import UserError
from flywheel.nightly import NightlyOptions, NightlyReport, run_nightly
from flywheel.project import Project, init_project
from flywheel.trace import Trace
from flywheel.users import ensure_automated_account
from flywheel.worlds import ReplayableWorld, replay_inputs

FIRST_DAY = date(2026, 11, 16)
WORSE_P = 0.01
WORSE_MIN_RISE = 0.005
TRUTH_DIR = "demo-truth"
DEMO_MAX_CLUSTERS = 20


class WeekResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    week: int
    seed: int
    traces: int
    failure_rate: float
    fixable_failure_rate: float
    unfixable_failure_rate: float
    per_mode: dict[str, float]
    mode_counts: dict[str, int]
    shipped: list[str]
    #: main before and after the week's nightly run (what the traffic ran on, what shipped).
    config_before: str | None = None
    config_commit: str | None
    nightly_run: str | None
    seconds: float


class WorsenedMode(BaseModel):
    """A failure mode that the week's shipped fixes made more frequent on the same requests."""

    model_config = ConfigDict(extra="forbid")

    mode: str
    week: int
    #: Requests that succeeded before the fixes and fail with this mode after.
    broken: int
    #: Requests that failed with this mode before and succeed after.
    repaired: int
    p_value: float
    shipped: list[str]


class ModeShift(BaseModel):
    """Paired outcome changes of one week's requests, main before vs after the week's fixes."""

    model_config = ConfigDict(extra="forbid")

    week: int
    requests: int
    #: mode -> requests that succeeded before and fail with it after.
    broken: dict[str, int]
    #: mode -> requests that failed with it before and succeed after.
    repaired: dict[str, int]
    #: mode -> requests that failed with another mode before and with this one after (a fix
    #: that lets a request go further can reveal a failure that was hidden behind the first).
    unmasked: dict[str, int]


class LoopReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weeks: list[WeekResult]
    shipped: int
    worsened_modes: list[WorsenedMode]
    shifts: list[ModeShift]
    seconds: float


def create_demo_project(directory: Path, world: ReplayableWorld) -> Project:
    """A project whose agent configuration is a copy of the world's (the loop may change it)."""
    agent_config = directory.resolve() / "agent-config"
    if not agent_config.exists():
        shutil.copytree(world.DEFAULT_CONFIG_DIR, agent_config)
    if not (agent_config / ".git").exists():
        _init_repo(agent_config)
    project, _ = init_project(directory, config_repo=agent_config)
    config = project.root / CONFIG_FILE
    text = config.read_text(encoding="utf-8")
    if "[replay]" not in text:  # the demo agent is a Python entry point of the world
        config.write_text(
            f"{text.rstrip()}\n\n[replay]\nagent = {json.dumps(world.AGENT)}\n\n"
            "[nightly]\n# the demo's week has ~15 fixable clusters: optimize them all at once\n"
            f"max_clusters = {DEMO_MAX_CLUSTERS}\n\n"
            "[optimize]\n# one wording per strategy: a smaller Holm family for small slices\n"
            "max_per_strategy = 1\n",
            encoding="utf-8",
        )
        project = Project(project.root, load_settings(project.root))
    return project


def _init_repo(directory: Path) -> None:
    """The demo configuration's own repository (branch main, one commit): never the folder's
    parent repository, even when the project sits inside a git checkout."""
    import git

    repo = git.Repo.init(directory, initial_branch="main")
    actor = git.Actor("flywheel", "flywheel@localhost")
    repo.git.add("--all")
    repo.index.commit("Demo agent configuration (week 1)", author=actor, committer=actor)


def _traffic(project: Project, week: int, seed: int) -> Path:
    """Where a week's traffic lands: the project's inbox, as production files would."""
    return project.root / project.settings.nightly.inbox / f"week-{week}-seed{seed}.jsonl"


def _truth_dir(project: Project, week: int) -> Path:
    return project.root / TRUTH_DIR / f"week-{week}"


def weeks_done(project: Project) -> list[WeekResult]:
    """The weeks already simulated in this project, oldest first."""
    found = []
    for path in (project.root / TRUTH_DIR).glob("week-*/result.json"):
        found.append(WeekResult.model_validate_json(path.read_text(encoding="utf-8")))
    return sorted(found, key=lambda w: w.week)


def generate_week(
    project: Project, world: ReplayableWorld, *, week: int, traces: int, seed: int
) -> tuple[dict[str, int], int]:
    """Generate (or find) the week's traffic in the inbox; (true counts by mode, traces).

    The labels stay in ``demo-truth/week-N`` beside the generation summary: the inbox holds only
    what production would send.
    """
    truth = _truth_dir(project, week)
    summary_path = truth / "generation.json"
    target = _traffic(project, week, seed)
    if summary_path.exists() and target.exists():
        data = json.loads(summary_path.read_text(encoding="utf-8"))
        return {k: int(v) for k, v in data["by_mode"].items()}, int(data["traces"])
    config = project.config_repo
    if config is None:
        raise UserError(
            "the demo project has no config_repo; create it with `flywheel demo quickstart`"
        )
    truth.mkdir(parents=True, exist_ok=True)
    start = FIRST_DAY + timedelta(days=7 * (week - 1))
    summary = world.generate(traces, seed, config, truth / "traces.jsonl", start)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(truth / "traces.jsonl"), target)
    data = {"traces": summary.traces, "by_mode": summary.by_mode, "seed": seed, "week": week}
    summary_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return dict(summary.by_mode), int(summary.traces)


def _rates(
    counts: dict[str, int], traces: int, fixable: frozenset[str], modes: Sequence[str]
) -> dict[str, Any]:
    def share(selected: Sequence[str]) -> float:
        return round(sum(counts.get(m, 0) for m in selected) / traces, 4)

    return {
        "failure_rate": share(list(counts)),
        "fixable_failure_rate": share([m for m in modes if m in fixable]),
        "unfixable_failure_rate": share([m for m in modes if m not in fixable]),
        "per_mode": {m: round(counts.get(m, 0) / traces, 4) for m in modes},
        "mode_counts": {m: counts.get(m, 0) for m in modes},
    }


def _shipped(report: NightlyReport) -> list[str]:
    for stage in report.stages:
        shipped = stage.summary.get("shipped")
        if isinstance(shipped, list):
            return [str(x) for x in shipped]
    return []


def run_demo_loop(
    project: Project,
    world: ReplayableWorld,
    *,
    weeks: int,
    traces: int = 2000,
    seed: int = 1,
    approvers: Sequence[str] = (),
    on_week: Callable[[WeekResult], None] | None = None,
    progress: bool = False,
) -> LoopReport:
    """Simulate ``weeks`` more weeks (after those already in the project) and measure each.

    A week whose nightly run was interrupted is picked up again: its traffic is reused and the
    nightly run resumes.
    """
    if weeks < 1:
        raise UserError(f"--weeks must be at least 1, got {weeks}")
    began = time.perf_counter()
    done = weeks_done(project)
    fixable = frozenset(world.CONFIG_FIXABLE)
    modes = sorted(world.FAILURE_MODES)
    results = list(done)
    first = (done[-1].week + 1) if done else 1
    for name in approvers:  # automated accounts sign in with their stored credential
        ensure_automated_account(project.data_dir, name)
    for week in range(first, first + weeks):
        week_began = time.perf_counter()
        week_seed = seed * 1000 + week
        counts, n = generate_week(project, world, week=week, traces=traces, seed=week_seed)
        before = _head(project)
        report = run_nightly(
            project, options=NightlyOptions(auto_approve_as=tuple(approvers)), progress=progress
        )
        result = WeekResult(
            week=week,
            seed=week_seed,
            traces=n,
            shipped=_shipped(report),
            config_before=before,
            config_commit=_head(project),
            nightly_run=str(report.run_id),
            seconds=round(time.perf_counter() - week_began, 1),
            **_rates(counts, n, fixable, modes),
        )
        path = _truth_dir(project, week) / "result.json"
        path.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
        results.append(result)
        if on_week is not None:
            on_week(result)
    shipped_weeks = [w for w in results if w.shipped]
    shifts = [mode_shift(project, world, w) for w in shipped_weeks]
    return LoopReport(
        weeks=results,
        shipped=sum(len(w.shipped) for w in results),
        worsened_modes=[
            worse
            for week, shift in zip(shipped_weeks, shifts, strict=True)
            for worse in worsened(shift, week.shipped)
        ],
        shifts=shifts,
        seconds=round(time.perf_counter() - began, 1),
    )


def mode_shift(project: Project, world: ReplayableWorld, week: WeekResult) -> ModeShift:
    """Replay the week's requests through the world under main before and after its fixes."""
    traffic = _traffic(project, week.week, week.seed)
    broken: Counter[str] = Counter()
    repaired: Counter[str] = Counter()
    unmasked: Counter[str] = Counter()
    requests = 0
    with (
        _checkout(project, week.config_before) as old,
        _checkout(project, week.config_commit) as new,
    ):
        for line in traffic.read_bytes().splitlines():
            inputs = replay_inputs(Trace.model_validate_json(line))
            before, after = world.truth(inputs, old), world.truth(inputs, new)
            requests += 1
            if before == after:
                continue
            if after is None:
                if before is not None:
                    repaired[before] += 1
            elif before is None:
                broken[after] += 1
            else:
                unmasked[after] += 1
    return ModeShift(
        week=week.week,
        requests=requests,
        broken=dict(sorted(broken.items())),
        repaired=dict(sorted(repaired.items())),
        unmasked=dict(sorted(unmasked.items())),
    )


def worsened(shift: ModeShift, shipped: Sequence[str]) -> list[WorsenedMode]:
    """Modes whose newly broken requests outnumber the repaired ones beyond noise: a one-sided
    exact McNemar test (p < 0.01) and at least half a percentage point of the requests."""
    from scipy.stats import binomtest

    found = []
    for mode, count in shift.broken.items():
        fixed = shift.repaired.get(mode, 0)
        p_value = float(binomtest(count, count + fixed, 0.5, alternative="greater").pvalue)
        if p_value < WORSE_P and (count - fixed) / shift.requests >= WORSE_MIN_RISE:
            found.append(
                WorsenedMode(
                    mode=mode,
                    week=shift.week,
                    broken=count,
                    repaired=fixed,
                    p_value=p_value,
                    shipped=list(shipped),
                )
            )
    return found


@contextmanager
def _checkout(project: Project, commit: str | None) -> Iterator[Path]:
    """The configuration at ``commit`` in a temporary folder (git archive of the config repo)."""
    import git

    if project.config_repo is None or commit is None:
        raise UserError("the demo project's config_repo is not a git repository")
    with tempfile.TemporaryDirectory(prefix="flywheel-config-") as tmp:
        data = io.BytesIO()
        git.Repo(project.config_repo).archive(data, treeish=commit)
        data.seek(0)
        with tarfile.open(fileobj=data) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def _head(project: Project) -> str | None:
    import git

    config = project.config_repo
    if config is None or not (config / ".git").exists():
        return None
    return str(git.Repo(config).head.commit.hexsha)
