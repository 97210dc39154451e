"""Run as ``python -m tests.replay.resume_worker DB_URL CONFIG_DIR CASES``: one replay that the
resume test kills midway (the agent notes every finished invocation in a counter file)."""

from __future__ import annotations

import sys
from pathlib import Path

from flywheel.store import Store
from replay import (
    Case,
    CaseSet,
    ConfigRef,
    HarnessOptions,
    PythonAdapter,
    ReplayStore,
    Suite,
    replay_sync,
)
from tests.replay.agents import counting_agent


def counting_cases(n: int) -> CaseSet:
    cases = tuple(Case(case_id=f"c{i}", inputs={"input": f"c{i}"}) for i in range(n))
    return CaseSet(name="resume", suite=Suite.regression, cases=cases)


def main() -> None:
    url, config_dir, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    store = ReplayStore(Store.open(url))
    outcome = replay_sync(
        counting_cases(n),
        ConfigRef(directory=config_dir),
        PythonAdapter(counting_agent),
        store=store,
        options=HarnessOptions(concurrency=4, repeats=2),
    )
    print(outcome.counts())


if __name__ == "__main__":
    main()
