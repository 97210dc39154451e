"""The Ray executor against a real Ray cluster on loopback: a head and a worker node, 1 CPU each.

No mock of Ray: the cluster is started by `ray start` and stopped by `ray stop`; the agents
run in Ray's worker processes (they import `tests.replay.agents` through PYTHONPATH).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from flywheel.config import ComputeConfig, load_settings
from flywheel.errors import ConfigError, UserError
from flywheel.store import Store
from replay import (
    Case,
    CaseResult,
    CaseSet,
    ConfigRef,
    HarnessOptions,
    PythonAdapter,
    ReplayOutcome,
    ReplayStore,
    Status,
    Suite,
    replay_case_set,
    replay_sync,
    with_executor,
)
from tests.helpers.ray_cluster import REPO, RayCluster, free_port, ray_cluster_on_loopback

AGENT = "python:tests.replay.agents:ledger_agent"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    pytest.importorskip("ray")
    with ray_cluster_on_loopback() as cluster:
        yield cluster


def _config(tmp_path: Path) -> ConfigRef:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "prompt.md").write_text("v1\n")
    return ConfigRef(directory=directory)


def _ledger_cases(ledger: Path, n: int, sleep_s: float) -> CaseSet:
    inputs = [{"input": f"c{i}", "ledger": str(ledger), "sleep_s": sleep_s} for i in range(n)]
    cases = tuple(Case(case_id=f"c{i}", inputs=inputs[i]) for i in range(n))
    return CaseSet(name="ray", suite=Suite.regression, cases=cases)


def _ledger(ledger: Path) -> list[tuple[str, str, int]]:
    """(verb, case|repeat, pid) per line of the agent's ledger."""
    rows = []
    for line in ledger.read_text().splitlines():
        verb, key = line.split(" ")
        case, repeat, pid = key.split("|")
        rows.append((verb, f"{case}|{repeat}", int(pid)))
    return rows


@pytest.mark.slow
@pytest.mark.ray
def test_a_replay_on_ray_gives_and_stores_what_a_local_replay_does(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.txt"
    cases = _ledger_cases(ledger, 60, 0.02)
    config = _config(tmp_path)
    options = HarnessOptions(concurrency=8, repeats=2)
    local_store = ReplayStore(Store.open(f"sqlite:///{tmp_path / 'local.db'}"))
    ray_store = ReplayStore(Store.open(f"sqlite:///{tmp_path / 'ray.db'}"))
    local_agent = PythonAdapter("tests.replay.agents:ledger_agent")
    local = replay_sync(cases, config, local_agent, store=local_store, options=options)
    agent = with_executor(
        PythonAdapter("tests.replay.agents:ledger_agent"),
        ComputeConfig(executor=f"ray://{ray_cluster.client}", workers=2),
        concurrency=8,
    )
    pids = set(agent.pids)  # type: ignore[attr-defined]
    assert len(pids) == 2  # two worker processes, one per node
    ledger.unlink()
    remote = replay_sync(cases, config, agent, store=ray_store, options=options)
    assert {pid for _, _, pid in _ledger(ledger)} == pids  # both ran cases, the driver none

    def verdicts(results: list[CaseResult]) -> list[tuple[object, ...]]:
        return [(r.case_id, r.repeat, r.status, r.checks, r.error_kind) for r in results]

    assert remote.ran == 120
    assert remote.errors == 0
    assert {r.status for r in remote.results} == {Status.passed, Status.failed}
    assert verdicts(remote.results) == verdicts(local.results)
    # The store holds them like any others: a local replay now finds every case cached.
    again = replay_sync(cases, config, local_agent, store=ray_store, options=options)
    assert (again.ran, again.cached) == (0, 120)
    assert verdicts(again.results) == verdicts(local.results)


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.parametrize("workers", [2, 1], ids=["to-the-other-worker", "to-the-restarted-one"])
def test_a_worker_killed_mid_replay_is_retried_and_counted_once(
    ray_cluster: RayCluster, tmp_path: Path, workers: int
) -> None:
    ledger = tmp_path / "ledger.txt"
    ledger.touch()
    n = 24
    cases = _ledger_cases(ledger, n, 0.4)
    store = ReplayStore(Store.open(f"sqlite:///{tmp_path / 'kill.db'}"))
    agent = with_executor(
        PythonAdapter("tests.replay.agents:ledger_agent"),
        ComputeConfig(executor=f"ray:{ray_cluster.gcs}", workers=workers),
        concurrency=8,
    )
    victim = agent.pids[0]  # type: ignore[attr-defined]
    killed = threading.Event()

    def kill_when_busy() -> None:  # SIGKILL the worker once it has cases in flight
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if ledger.read_text().count(f"|{victim}\n") >= 3:
                os.kill(victim, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    hanging = _ledger_cases(ledger, 2, 3600)

    async def replays() -> tuple[ReplayOutcome, ReplayOutcome]:
        try:
            config, options = _config(tmp_path), HarnessOptions(concurrency=8)
            killed_run = await replay_case_set(cases, config, agent, store=store, options=options)
            options = HarnessOptions(concurrency=8, timeout_s=1)
            hung_run = await replay_case_set(hanging, config, agent, options=options)
            deadline = time.monotonic() + 20  # the cancellation travels to the worker
            while time.monotonic() < deadline and ledger.read_text().count("cancelled c") < 2:
                await asyncio.sleep(0.05)
            return killed_run, hung_run
        finally:
            await agent.aclose()

    outcome, hung = asyncio.run(replays())
    killer.join()
    # The harness's timeout reached the worker: the agent's call there was cancelled.
    assert [r.error_kind for r in hung.results] == ["timeout", "timeout"]
    assert sum(line.startswith("cancelled c") for line in ledger.read_text().splitlines()) == 2
    assert killed.is_set()
    rows = _ledger(ledger)
    starts = Counter(key for verb, key, _ in rows if verb == "start")
    ends = Counter(key for verb, key, _ in rows if verb == "end")
    assert 2 <= max(starts.values()) <= 4  # the killed worker's cases were sent again...
    assert set(ends.values()) == {1}  # ...and each answered once
    assert len(ends) == n
    # Every case once, passed: the dead worker is nobody's failure and no case is counted twice.
    assert outcome.ran == n
    assert outcome.errors == 0
    assert [r.status for r in outcome.results] == [
        Status.failed if i % 3 == 0 else Status.passed for i in range(n)
    ]
    stored = store.results(outcome.config_digest, (c.digest for c in cases.cases))
    assert len(stored) == n


@pytest.mark.slow
@pytest.mark.ray
def test_cases_sent_together_answer_apart_and_the_workers_outlive_an_event_loop(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    # The cases a replay starts together travel to a worker in one batch; each answer must
    # still come back when its own case finishes, not when the slowest of its batch does.
    ledger = tmp_path / "ledger.txt"
    sleeps = [5.0] + [0.05] * 11
    inputs = [
        {"input": f"c{i}", "ledger": str(ledger), "sleep_s": sleep}
        for i, sleep in enumerate(sleeps)
    ]
    cases = CaseSet(
        name="mixed",
        suite=Suite.regression,
        cases=tuple(Case(case_id=f"c{i}", inputs=inputs[i]) for i in range(len(sleeps))),
    )
    agent = with_executor(
        PythonAdapter("tests.replay.agents:ledger_agent"),
        ComputeConfig(executor=f"ray:{ray_cluster.gcs}", workers=1),
        concurrency=4,
    )
    config, options = _config(tmp_path), HarnessOptions(concurrency=4)
    try:
        # Two event loops in turn (as `flywheel bench scale` and a gate's replays do): the
        # first loop's waiting collect must not swallow the second loop's answers.
        first = asyncio.run(replay_case_set(cases, config, agent, options=options))
        second = asyncio.run(replay_case_set(cases, config, agent, options=options))
    finally:
        asyncio.run(agent.aclose())
    for outcome in (first, second):
        assert outcome.ran == len(sleeps)
        assert outcome.errors == 0
        slow, *fast = outcome.results
        assert slow.duration_s >= 5.0
        assert max(r.duration_s for r in fast) < 2.5, [r.duration_s for r in fast]


def test_the_head_unreachable_at_start_is_a_one_line_error(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    port = free_port()
    began = time.monotonic()
    with pytest.raises(UserError) as caught:
        with_executor(
            PythonAdapter("tests.replay.agents:ledger_agent"),
            ComputeConfig(executor=f"ray://127.0.0.1:{port}"),
            concurrency=4,
        )
    message = str(caught.value)
    assert "\n" not in message
    assert f"cannot reach the Ray head at 127.0.0.1:{port}" in message
    assert "'local'" in message
    assert time.monotonic() - began < 10


def test_an_unknown_executor_names_the_key_and_the_valid_ones(tmp_path: Path) -> None:
    (tmp_path / "flywheel.toml").write_text('[compute]\nexecutor = "spark://h:1"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert "compute.executor" in message
    assert "local, ray://HOST:PORT, ray:HOST:PORT, ray:auto" in message


def test_the_executor_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLYWHEEL_COMPUTE__EXECUTOR", "ray://10.0.0.5:10001")
    assert load_settings(tmp_path).compute.executor == "ray://10.0.0.5:10001"


def test_the_local_executor_is_the_agent_itself_and_never_imports_ray(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import flywheel.cli\n"
        "from flywheel.config import ComputeConfig\n"
        "from replay import PythonAdapter, with_executor\n"
        "from flywheel.cli._app import app\n"
        "assert 'replay' in {c.name for c in app.registered_commands}\n"
        "agent = PythonAdapter('tests.replay.agents:ledger_agent')\n"
        "assert with_executor(agent, ComputeConfig(), concurrency=4) is agent\n"
        "print('ray' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_the_cli_says_in_one_line_that_the_head_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ray")
    from typer.testing import CliRunner

    from flywheel.cli import app

    runner = CliRunner()
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    root = tmp_path / "project"
    assert runner.invoke(app, ["init", str(root), "--json"]).exit_code == 0
    monkeypatch.setenv("FLYWHEEL_PROJECT", str(root))
    config = str(_config(tmp_path).directory)
    port = free_port()
    result = runner.invoke(
        app,
        ["replay", "--config", config, "--baseline-config", config, "--agent", AGENT],
        env={"FLYWHEEL_COMPUTE__EXECUTOR": f"ray://127.0.0.1:{port}", "COLUMNS": "400"},
    )
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert f"cannot reach the Ray head at 127.0.0.1:{port}" in line


def test_bench_scale_rejects_an_unknown_executor_in_one_line() -> None:
    from typer.testing import CliRunner

    from flywheel.cli import app

    result = CliRunner().invoke(
        app, ["bench", "scale", "--executor", "spark://h:1"], env={"COLUMNS": "400"}
    )
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert "--executor: " in line
    assert "valid: local, ray://HOST:PORT, ray:HOST:PORT, ray:auto" in line
