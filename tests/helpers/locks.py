"""Processes around the pipeline lock: a holder in a subprocess, the CLI as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = "from flywheel.cli import main; main()"
_HOLDER = """
import sys
from flywheel.store import Store, run_lock
store = Store.open(sys.argv[1])
with run_lock(store, command=sys.argv[2], heartbeat=0.2):
    print("held", flush=True)
    sys.stdin.readline()
store.close()
"""


def cli_env() -> dict[str, str]:
    """The environment of a CLI subprocess: this checkout first, offline."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return env


@contextmanager
def held_lock(url: str, command: str = "holder") -> Iterator[subprocess.Popen[str]]:
    """A process holding the pipeline lock as ``command`` until its stdin gets a line."""
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url, command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(),
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.communicate(timeout=20)
