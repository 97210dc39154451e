"""`flywheel bench scale`: replay cases/s with the local executor vs Ray with 1 and 2 workers.

The agent is the fixed-latency stand-in of `flywheel bench replay` (it sleeps, then answers a
small valid trace), so the figures are the executors' own cost at the same concurrency: with
Ray every call crosses to an actor process and its trace comes back pickled. Each setting is
replayed ``runs`` times into a fresh SQLite store and the median is reported; the workers'
start-up (starting the actors, loading the agent) is timed apart. The settings take turns.

With ``embed_texts``, it then embeds that many distinct failure-signature-like texts with the
default sentence model, in this process and as Ray tasks (`flywheel.compute.map_batches`),
and reports both times (the Ray one includes loading the model in each worker process) and
whether the vectors are identical.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from flywheel.config import ComputeConfig, HarnessOptions
from flywheel.store import Store
from replay._adapters import AgentAdapter, PythonAdapter
from replay._bench import fixed_latency_agent
from replay._executor import with_executor
from replay._harness import replay_case_set
from replay._models import Case, CaseSet, ConfigRef, Suite
from replay._store import ReplayStore


def _replay(
    case_set: CaseSet, config: ConfigRef, agent: AgentAdapter, db: Path, c: int
) -> tuple[float, float]:
    """Cases/s of one replay of ``case_set`` into a fresh store, and the driver's CPU ms/case
    (all its threads: with Ray, the submission and the results' unpickling happen here)."""
    store = Store.open(f"sqlite:///{db}")
    options = HarnessOptions(concurrency=c, timeout_s=60, repeats=1)
    began, cpu = time.perf_counter(), time.process_time()
    outcome = asyncio.run(
        replay_case_set(case_set, config, agent, store=ReplayStore(store), options=options)
    )
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    store.close()
    if outcome.errors:
        raise RuntimeError(f"the benchmark's agent failed: {outcome.errors_by_kind}")
    n = len(case_set.cases)
    return n / elapsed, cpu / n * 1000


def run_scale_benchmark(
    *,
    executor: str = "ray:auto",
    latency_ms: float = 50.0,
    concurrency: int = 16,
    cases: int = 600,
    runs: int = 3,
    workers: tuple[int, ...] = (1, 2),
    workdir: Path | None = None,
    embed_texts: int = 0,
    log: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Medians of ``runs`` replays of ``cases`` cases per setting; see the module docstring."""
    from flywheel.compute import ray_session

    agent_fn = partial(fixed_latency_agent, latency_s=latency_ms / 1000)
    c = concurrency
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        (root / "config" / "prompt.md").write_text("bench\n")
        config = ConfigRef(directory=root / "config")
        case_set = CaseSet(
            name="bench-scale",
            suite=Suite.regression,
            cases=tuple(Case(case_id=f"c{i}", inputs={"input": f"c{i}"}) for i in range(cases)),
        )

        local = PythonAdapter(agent_fn, max_threads=concurrency)
        names = ["local", *(f"ray-{count}" for count in workers)]
        speeds: dict[str, list[float]] = {name: [] for name in names}
        cpus: dict[str, list[float]] = {name: [] for name in names}
        startups: dict[str, list[float]] = {name: [] for name in names}
        with ray_session(executor):
            # Rounds of every setting in turn, so that other work on the machine weighs on
            # each setting alike (one setting's runs back to back would catch one busy spell).
            for run in range(runs):
                speed, cpu = _replay(case_set, config, local, root / f"l{run}.db", c)
                speeds["local"].append(speed)
                cpus["local"].append(cpu)
                startups["local"].append(0.0)
                for count in workers:
                    began = time.perf_counter()
                    agent = with_executor(
                        PythonAdapter(agent_fn, max_threads=c),
                        ComputeConfig(executor=executor, workers=count),
                        concurrency=c,
                    )
                    startups[f"ray-{count}"].append(time.perf_counter() - began)
                    db = root / f"r{count}-{run}.db"
                    speed, cpu = _replay(case_set, config, agent, db, c)
                    speeds[f"ray-{count}"].append(speed)
                    cpus[f"ray-{count}"].append(cpu)
                    asyncio.run(agent.aclose())
                log(
                    f"round {run + 1}: "
                    + ", ".join(f"{n} {speeds[n][-1]:.1f} cases/s" for n in names)
                    + f" (load {os.getloadavg()[0]:.1f})"
                )
        asyncio.run(local.aclose())
        medians = {name: statistics.median(speeds[name]) for name in names}
        rows: list[dict[str, Any]] = [
            {
                "executor": name,
                "cases_per_s_median": round(medians[name], 1),
                "vs_local": round(medians[name] / medians["local"], 3),
                "cases_per_s": [round(s, 1) for s in speeds[name]],
                "startup_s_median": round(statistics.median(startups[name]), 2),
                "driver_cpu_ms_per_case_median": round(statistics.median(cpus[name]), 3),
            }
            for name in names
        ]
    report: dict[str, Any] = {
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "cases": cases,
        "runs": runs,
        "ideal_cases_per_s": round(concurrency / (latency_ms / 1000), 1),
        "executor": executor,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "settings": rows,
    }
    if embed_texts:
        report["embedding"] = _embedding_benchmark(executor, embed_texts, log)
    return report


def _embedding_benchmark(executor: str, n: int, log: Callable[[str], None]) -> dict[str, Any]:
    import numpy as np

    from flywheel.embeddings import Embedder

    tools = ["search", "refund", "lookup_order", "send_email", "escalate", "summarise"]
    texts = [
        f"tool {tools[i % 6]} failed with error {i}; step {i % 11} retried. " * (1 + i % 4)
        for i in range(n)
    ]
    local = Embedder()
    began = time.perf_counter()
    local.load()
    load_s = time.perf_counter() - began
    began = time.perf_counter()
    here = local.encode(texts)
    local_s = time.perf_counter() - began
    began = time.perf_counter()
    remote = Embedder(compute=ComputeConfig(executor=executor)).encode(texts)
    ray_s = time.perf_counter() - began
    identical = bool(np.array_equal(here, remote))
    log(
        f"embedding {n} texts: local {local_s:.1f} s (+ model load {load_s:.1f} s), "
        f"Ray {ray_s:.1f} s (model loads included), identical vectors: {identical}"
    )
    return {
        "texts": n,
        "local_s": round(local_s, 2),
        "local_model_load_s": round(load_s, 2),
        "ray_s_with_model_loads": round(ray_s, 2),
        "identical": identical,
    }
