"""The harness: concurrency limit, timeouts and faults as errors, the cache, and resume."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import func, select

from flywheel.store import Store
from flywheel.trace import Trace
from replay import (
    Case,
    CaseSet,
    Check,
    ConfigRef,
    HarnessOptions,
    PythonAdapter,
    ReplayStore,
    Status,
    replay_sync,
)
from replay._scorers import default_scorers
from replay._tables import ReplayResultRow
from tests.replay import agents
from tests.replay.resume_worker import counting_cases

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> ConfigRef:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "prompt.md").write_text("v1\n")
    return ConfigRef(directory=directory)


@pytest.fixture
def rstore(store: Store) -> ReplayStore:
    """Replay's store on every backend (the shared ``store`` fixture)."""
    return ReplayStore(store)


def _cases(n: int) -> CaseSet:
    return counting_cases(n)


class Gauge:
    """An async agent that records how many calls are in flight at once."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.calls = 0

    async def __call__(self, inputs: dict[str, Any], config_dir: str) -> Trace:
        self.now += 1
        self.calls += 1
        self.peak = max(self.peak, self.now)
        await asyncio.sleep(0.005)
        self.now -= 1
        return Trace(trace_id="t", input=inputs, output="ok")


def test_the_concurrency_limit_is_respected_and_reached(config: ConfigRef) -> None:
    gauge = Gauge()
    agent = PythonAdapter(gauge)  # a callable object with an async __call__
    outcome = replay_sync(_cases(60), config, agent, options=HarnessOptions(concurrency=7))
    assert gauge.peak == 7
    assert gauge.calls == 60
    assert outcome.ran == 60
    assert [r.case_id for r in outcome.results] == [f"c{i}" for i in range(60)]


@pytest.mark.parametrize(
    ("target", "kind", "message"),
    [
        (agents.raising_agent, "agent", "RuntimeError: agent crashed on c0"),
        (agents.garbage_agent, "invalid_trace", "not a valid trace: trace_id"),
        (agents.hanging_agent, "timeout", "no answer within 0.2 s"),
    ],
)
def test_a_faulty_agent_is_an_infrastructure_error_per_case(
    config: ConfigRef, rstore: ReplayStore, target: Any, kind: str, message: str
) -> None:
    options = HarnessOptions(concurrency=4, timeout_s=0.2)
    began = time.perf_counter()
    outcome = replay_sync(_cases(6), config, PythonAdapter(target), store=rstore, options=options)
    assert time.perf_counter() - began < 5
    assert {r.status for r in outcome.results} == {Status.error}
    assert outcome.errors_by_kind == {kind: 6}
    assert message in (outcome.results[0].error or "")
    stored = rstore.results(config.digest, [c.digest for c in _cases(6).cases])
    assert {r.error_kind for r in stored.values()} == {kind}


class Exploding:
    name = "exploding"

    async def score(self, case: Case, trace: Trace) -> Check:
        raise ValueError("judge unreachable")


def test_a_failing_scorer_records_an_error_never_a_verdict(config: ConfigRef) -> None:
    counter = config.directory.parent / "calls.txt"
    os.environ[agents.COUNTER_ENV] = str(counter)
    outcome = replay_sync(
        _cases(3),
        config,
        PythonAdapter(agents.counting_agent),
        scorers=[*default_scorers(), Exploding()],
    )
    assert {r.status for r in outcome.results} == {Status.error}
    assert outcome.results[0].error == "scorer exploding: ValueError: judge unreachable"
    assert outcome.results[0].error_kind == "scorer"


def test_results_are_cached_by_config_case_and_repeat(
    config: ConfigRef, rstore: ReplayStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = tmp_path / "calls.txt"
    monkeypatch.setenv(agents.COUNTER_ENV, str(counter))
    agent = PythonAdapter(agents.counting_agent)
    options = HarnessOptions(concurrency=8, repeats=2)
    first = replay_sync(_cases(10), config, agent, store=rstore, options=options)
    assert first.ran == 20
    again = replay_sync(_cases(10), config, agent, store=rstore, options=options)
    assert (again.ran, again.cached) == (0, 20)
    assert [r.status for r in again.results] == [r.status for r in first.results]
    more = replay_sync(
        _cases(10), config, agent, store=rstore, options=options.model_copy(update={"repeats": 3})
    )
    assert (more.ran, more.cached) == (10, 20)  # only the new repeat runs
    (config.directory / "prompt.md").write_text("v2\n")  # new content: a new configuration
    edited = replay_sync(_cases(10), config, agent, store=rstore, options=options)
    assert edited.ran == 20
    assert len(counter.read_text().splitlines()) == 50
    # other scorers: the cached traces are re-scored, the agent is not called
    rescored = replay_sync(
        _cases(10), config, agent, store=rstore, options=options, scorers=default_scorers()[:1]
    )
    assert (rescored.ran, rescored.rescored) == (0, 20)
    assert {r.status for r in rescored.results} == {Status.passed}  # no_error only
    assert len(counter.read_text().splitlines()) == 50


def test_a_run_left_running_by_a_killed_replay_is_resumed_and_finished_when_it_replays_again(
    config: ConfigRef, rstore: ReplayStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe: `kill -9` after the last result was stored but before the run was finished left
    the run "running" forever (the rerun found every case cached and started no run); marking
    it abandoned instead left no completed run for that replay at all."""
    monkeypatch.setenv(agents.COUNTER_ENV, str(tmp_path / "calls.txt"))
    agent = PythonAdapter(agents.counting_agent)
    cases = _cases(4)
    done = replay_sync(cases, config, agent, store=rstore)

    def left_running(label: str, set_digest: str) -> str:  # what a killed process left behind
        return rstore.start_run(
            label=label,
            config=config,
            config_digest=done.config_digest,
            set_digest=set_digest,
            repeats=1,
        )

    older = left_running("killed first", cases.digest)
    killed = left_running("killed again", cases.digest)
    other = left_running("other", "x")  # another set of the same configuration: not this one
    again = replay_sync(cases, config, agent, store=rstore)
    assert (again.ran, again.cached, again.run_id) == (0, 4, killed)
    status = {run["id"]: run["status"] for run in rstore.runs()}
    assert (status[older], status[killed], status[other]) == ("abandoned", "completed", "running")


@pytest.mark.slow
def test_a_killed_replay_resumes_without_running_a_case_twice(
    config: ConfigRef, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = ReplayStore(Store.open(url))
    counter = tmp_path / "calls.txt"
    env = {**os.environ, agents.COUNTER_ENV: str(counter), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "tests.replay.resume_worker", url, str(config.directory)]
    worker = subprocess.Popen(
        [*command, "150"], env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    stored = 0
    deadline = time.monotonic() + 60
    while stored < 60 and time.monotonic() < deadline:
        time.sleep(0.02)
        with store.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(ReplayResultRow)).scalar_one()
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert 60 <= stored < 300, "the replay finished before it could be killed"
    with store.engine.connect() as conn:
        rows = conn.execute(select(ReplayResultRow.case_id, ReplayResultRow.repeat)).all()
    before_kill = {f"{case_id}|{repeat}" for case_id, repeat in rows}
    calls_at_kill = len(counter.read_text().splitlines())

    finished = subprocess.run(
        [*command, "150"], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "'ran': " in finished.stdout
    calls = Counter(counter.read_text().splitlines())
    assert len(calls) == 300  # every (case, repeat) ran
    assert all(calls[key] == 1 for key in before_kill)  # nothing persisted ran again
    # only the invocations in flight at the kill (at most the concurrency) may have run twice
    assert sum(calls.values()) - 300 <= 4
    assert calls_at_kill >= len(before_kill)

    monkeypatch.setenv(agents.COUNTER_ENV, str(tmp_path / "fresh-calls.txt"))
    fresh = replay_sync(
        counting_cases(150),
        config,
        PythonAdapter(agents.counting_agent),
        options=HarnessOptions(concurrency=4, repeats=2),
    )
    resumed = store.results(config.digest, [c.digest for c in counting_cases(150).cases])
    assert {(r.case_id, r.repeat): r.status for r in resumed.values()} == {
        (r.case_id, r.repeat): r.status for r in fresh.results
    }


def test_errors_are_kept_unless_a_retry_is_asked_for(
    config: ConfigRef, rstore: ReplayStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(agents.COUNTER_ENV, str(tmp_path / "calls.txt"))
    broken = replay_sync(_cases(5), config, PythonAdapter(agents.raising_agent), store=rstore)
    assert broken.errors == 5
    healed = PythonAdapter(agents.counting_agent)  # the outage is over
    kept = replay_sync(_cases(5), config, healed, store=rstore)
    assert (kept.ran, kept.errors) == (0, 5)  # a rerun gives the same result
    retried = replay_sync(
        _cases(5), config, healed, store=rstore, options=HarnessOptions(retry_errors=True)
    )
    assert (retried.ran, retried.errors) == (5, 0)
    again = replay_sync(_cases(5), config, healed, store=rstore)
    assert (again.ran, again.errors) == (0, 0)


class SlowScorer:
    """An async scorer that takes its time (an LLM judge), counting scorings in flight."""

    name = "slow"

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    async def score(self, case: Case, trace: Trace) -> Check:
        self.now += 1
        self.peak = max(self.peak, self.now)
        await asyncio.sleep(0.01)
        self.now -= 1
        return Check(name=self.name, passed=True)


def test_scoring_beside_the_agent_stays_bounded_and_complete(config: ConfigRef) -> None:
    """Workers start the next agent call while scoring goes on, but never more than the
    concurrency of scorings at once; every result arrives, in case order, with a progress bar
    that counts them all."""
    gauge, scorer = Gauge(), SlowScorer()
    output = io.StringIO()
    outcome = replay_sync(
        _cases(40),
        config,
        PythonAdapter(gauge),
        scorers=[scorer],
        options=HarnessOptions(concurrency=3),
        progress=Console(file=output, width=100),
    )
    assert scorer.peak == 3
    assert gauge.peak <= 3
    assert outcome.ran == 40
    assert [r.case_id for r in outcome.results] == [f"c{i}" for i in range(40)]
    assert {r.status for r in outcome.results} == {Status.passed}
    assert "40/40" in output.getvalue()
