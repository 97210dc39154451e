"""The pipeline lock: one nightly run or ingest at a time, a dead holder's lock taken over.

Real processes: a holder in a subprocess, the CLI as the user runs it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from flywheel.project import Project
from flywheel.store import LockHeld, Store, run_lock
from flywheel.store._locks import RunLockRow
from tests.helpers.locks import CLI, cli_env, held_lock


def _flywheel(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, "-p", str(project.root), *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
        check=False,
    )


def _traces(path: Path, count: int) -> Path:
    lines = [
        json.dumps({"trace_id": f"t{i}", "input": f"question {i}", "output": "ok"})
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow  # runs holder processes
def test_a_second_nightly_or_ingest_exits_with_one_line_while_a_run_holds_the_lock(
    project: Project, tmp_path: Path
) -> None:
    with (project.root / "flywheel.toml").open("a") as handle:
        handle.write('\n[nightly]\nstages = ["ingest", "detect"]\n')
    data = _traces(tmp_path / "day.jsonl", 5)
    with held_lock(project.database_url):
        for args in (("nightly",), ("ingest", str(data))):
            done = _flywheel(project, *args)
            assert done.returncode == 1, done.stdout + done.stderr
            assert "Traceback" not in done.stderr
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1, done.stderr
            assert "another run holds the pipeline lock" in lines[0]
            assert f"on {socket.gethostname()}" in lines[0]
    with project.open_store() as store:
        assert store.count_traces() == 0
    # released: the same commands now run
    assert _flywheel(project, "ingest", str(data)).returncode == 0
    assert _flywheel(project, "nightly").returncode == 0


@pytest.mark.slow  # runs holder processes
def test_wait_takes_the_lock_when_the_holder_releases_it(project: Project) -> None:
    with held_lock(project.database_url) as holder, Store.open(project.database_url) as store:
        with pytest.raises(LockHeld), run_lock(store, command="test"):
            pass
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        with run_lock(store, command="test", wait=15):
            with store.engine.connect() as conn:
                row = conn.execute(select(RunLockRow)).one()
            assert (row.pid, row.command) == (os.getpid(), "test")


@pytest.mark.slow  # runs holder processes
def test_the_lock_of_a_killed_holder_is_taken_over(project: Project) -> None:
    with held_lock(project.database_url) as holder, Store.open(project.database_url) as store:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        with run_lock(store, command="after the crash"):
            pass


def _plant(store: Store, *, host: str, pid: int, age: float) -> None:
    beat = datetime.now(UTC) - timedelta(seconds=age)
    with store.engine.begin() as conn:
        conn.execute(
            insert(RunLockRow).values(
                name="pipeline",
                token="other",
                pid=pid,
                host=host,
                command="flywheel nightly",
                acquired_at=beat,
                heartbeat_at=beat,
            )
        )


def test_a_holder_on_another_host_is_stale_only_when_its_heartbeat_is_old(
    store: Store,
) -> None:
    _plant(store, host="elsewhere", pid=os.getpid(), age=5)
    with (
        pytest.raises(LockHeld, match=r"flywheel nightly.*on elsewhere"),
        run_lock(store, command="test", stale_after=60),
    ):
        pass
    with run_lock(store, command="test", stale_after=1):
        pass
    with store.engine.connect() as conn:
        assert conn.execute(select(RunLockRow)).all() == []


def test_the_lock_is_reentrant_in_one_process(store: Store) -> None:
    with (
        run_lock(store, command="outer"),
        run_lock(store, command="inner"),
        store.engine.connect() as conn,
    ):
        assert [r.command for r in conn.execute(select(RunLockRow))] == ["outer"]


@pytest.mark.slow  # runs holder processes
def test_two_ingests_of_one_file_at_once_never_crash(project: Project, tmp_path: Path) -> None:
    data = _traces(tmp_path / "big.jsonl", 3000)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLI, "-p", str(project.root), "ingest", str(data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        for _ in range(2)
    ]
    outcomes = []
    for proc in procs:
        with proc:
            _, err = proc.communicate(timeout=120)
            outcomes.append((proc.returncode, err))
    for code, err in outcomes:
        assert "Traceback" not in err, err
        assert code == 0 or (code == 1 and "pipeline lock" in err and len(err.splitlines()) == 1)
    assert any(code == 0 for code, _ in outcomes)
    with project.open_store() as store:
        assert store.count_traces() == 3000


def test_a_waiter_keeps_waiting_while_sqlite_is_busy_with_the_holders_writes(
    tmp_path: Path,
) -> None:
    """On SQLite a holder's long write transaction makes the waiter's attempt fail with
    'database is locked' once the busy timeout passes; that is a busy lock, not an error."""
    import threading
    import time

    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'busy.db'}"
    Store.open(url)
    impatient = Store(create_engine(url, connect_args={"timeout": 0.1}))
    writer = create_engine(url, connect_args={"timeout": 5})
    release = threading.Event()

    def hold_a_write_transaction() -> None:
        with writer.begin() as conn:
            conn.execute(
                insert(RunLockRow).values(
                    name="other",
                    token="t",
                    pid=1,
                    host="h",
                    command="c",
                    acquired_at=datetime.now(UTC),
                    heartbeat_at=datetime.now(UTC),
                )
            )
            release.wait(5)

    holder = threading.Thread(target=hold_a_write_transaction)
    holder.start()
    time.sleep(0.3)
    threading.Timer(0.8, release.set).start()
    began = time.monotonic()
    with run_lock(impatient, command="waiter", wait=10):
        waited = time.monotonic() - began
    holder.join()
    impatient.engine.dispose()
    writer.dispose()
    assert waited >= 0.4  # it waited for the writer instead of failing
