"""`flywheel bench replay`: harness throughput against an agent of fixed latency.

The agent sleeps ``latency_ms`` and returns a small valid trace, so everything else measured
is the harness: scheduling, the per-case timeout, scoring with the default checks, and the
persistence of every result in a SQLite store. The ideal throughput is
``concurrency / latency``; the overhead per case is what each slot spends beyond the agent's
latency: ``elapsed * concurrency / cases - latency``. It splits in two: ``timer_late_ms``, how
late the agent's sleep ended on average (the event loop busy with other cases, or the process
waiting for a CPU on a loaded machine), and the rest, the harness's own gap between one agent
call's answer and the slot's next call. ``cpu_ms_per_case`` is the process's CPU time (both
threads) per case: the figure least disturbed by other work on the machine.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from flywheel.config import HarnessOptions
from flywheel.store import Store
from flywheel.trace import Trace
from replay._adapters import PythonAdapter
from replay._harness import replay_case_set
from replay._models import Case, CaseSet, ConfigRef, Suite
from replay._store import ReplayStore


async def fixed_latency_agent(
    inputs: dict[str, Any],
    config_dir: str,
    *,
    latency_s: float = 0.05,
    lateness: list[float] | None = None,
) -> Trace:
    """A stand-in agent: waits ``latency_s`` and answers with a one-step trace.

    ``lateness`` collects how much longer than ``latency_s`` each wait took."""
    began = time.perf_counter()
    await asyncio.sleep(latency_s)
    if lateness is not None:
        lateness.append(time.perf_counter() - began - latency_s)
    return Trace.model_validate(
        {
            "trace_id": f"bench-{inputs['input']}-{inputs['repeat']}",
            "input": inputs,
            "output": "ok [DOC-1]",
            "latency_ms": latency_s * 1000,
            "cost_usd": 0.0001,
            "steps": [
                {
                    "id": "s1",
                    "type": "retriever",
                    "name": "search",
                    "output": {"documents": [{"id": "DOC-1"}]},
                    "latency_ms": latency_s * 1000,
                },
            ],
        }
    )


def run_replay_benchmark(
    *,
    latency_ms: float = 50.0,
    concurrencies: Sequence[int] = (1, 8, 32, 128),
    seconds: float = 3.0,
    workdir: Path | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Throughput per concurrency level; each level replays ~``seconds`` worth of ideal work."""
    latency_s = latency_ms / 1000
    results = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        config_dir = Path(tmp) / "config"
        config_dir.mkdir()
        (config_dir / "prompt.md").write_text("bench\n")
        for concurrency in concurrencies:
            n = max(20, round(seconds * concurrency / latency_s))
            store = Store.open(f"sqlite:///{Path(tmp) / f'bench-{concurrency}.db'}")
            cases = tuple(Case(case_id=f"c{i}", inputs={"input": f"c{i}"}) for i in range(n))
            case_set = CaseSet(name="bench", suite=Suite.regression, cases=cases)
            late: list[float] = []
            agent = PythonAdapter(partial(fixed_latency_agent, latency_s=latency_s, lateness=late))
            options = HarnessOptions(concurrency=concurrency, timeout_s=60, repeats=1)
            cpu, began = time.process_time(), time.perf_counter()
            outcome = asyncio.run(
                replay_case_set(
                    case_set,
                    ConfigRef(directory=config_dir),
                    agent,
                    store=ReplayStore(store),
                    options=options,
                    label="bench",
                )
            )
            elapsed = time.perf_counter() - began
            cpu = time.process_time() - cpu
            store.close()
            ideal = concurrency / latency_s
            row = {
                "concurrency": concurrency,
                "cases": n,
                "elapsed_s": round(elapsed, 3),
                "cases_per_s": round(n / elapsed, 1),
                "ideal_cases_per_s": round(ideal, 1),
                "efficiency": round(n / elapsed / ideal, 4),
                "overhead_ms_per_case": round((elapsed * concurrency / n - latency_s) * 1000, 3),
                "timer_late_ms": round(sum(late) / max(len(late), 1) * 1000, 3),
                "cpu_ms_per_case": round(cpu / n * 1000, 3),
                "errors": outcome.errors,
            }
            log(
                f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs, "
                f"concurrency {concurrency}: {row['cases_per_s']} cases/s of "
                f"{row['ideal_cases_per_s']} ideal ({row['efficiency']:.1%}), overhead "
                f"{row['overhead_ms_per_case']} ms/case (timer late {row['timer_late_ms']} ms), "
                f"CPU {row['cpu_ms_per_case']} ms/case"
            )
            results.append(row)
    return {
        "latency_ms": latency_ms,
        "cpus": os.cpu_count(),
        #: Other work on the machine delays the agent's timers: read the figures against it.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "levels": results,
    }
