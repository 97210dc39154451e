"""Agents for the replay tests: the demo world (cached per directory) and faulty agents."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from examples.acme_assistant.agent import Simulation, prepare
from examples.acme_assistant.runtime import simulation
from flywheel.trace import Trace

_SIMULATIONS: dict[str, Simulation] = {}
COUNTER_ENV = "FLYWHEEL_TEST_REPLAY_COUNTER"


def _sim(config_dir: str) -> Simulation:
    # The demo's `run` re-reads the directory on every call (~70 ms); tests replay thousands.
    if config_dir not in _SIMULATIONS:
        _SIMULATIONS[config_dir] = simulation(Path(config_dir))
    return _SIMULATIONS[config_dir]


def demo_run(inputs: dict[str, Any], config_dir: str) -> Trace:
    """The demo assistant, as `examples.acme_assistant:run` but with the config cached."""
    trace: Trace = _sim(config_dir).drive(prepare(inputs))["trace"]
    return trace


def demo_truth(inputs: dict[str, Any], config_dir: str) -> str | None:
    """The hidden failure mode of a run (None: a success); miscalibrated-judge is a success."""
    failure: str | None = _sim(config_dir).drive(prepare(inputs)).get("failure")
    return None if failure == "miscalibrated_judge" else failure


def _trace(inputs: dict[str, Any], output: str = "fine") -> Trace:
    return Trace(
        trace_id=f"t-{inputs['input']}-{inputs['repeat']}",
        input=inputs,
        output=output,
        latency_ms=10,
        cost_usd=0.001,
    )


async def counting_agent(inputs: dict[str, Any], config_dir: str) -> Trace:
    """Waits 20 ms, then notes ``input|repeat`` in the counter file (a finished invocation)."""
    await asyncio.sleep(0.02)
    with Path(os.environ[COUNTER_ENV]).open("a") as handle:
        handle.write(f"{inputs['input']}|{inputs['repeat']}\n")
    return _trace(inputs, "pass" if int(inputs["input"][1:]) % 3 else "fail")


def raising_agent(inputs: dict[str, Any], config_dir: str) -> Trace:
    raise RuntimeError(f"agent crashed on {inputs['input']}")


async def hanging_agent(inputs: dict[str, Any], config_dir: str) -> Trace:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


def garbage_agent(inputs: dict[str, Any], config_dir: str) -> object:
    return {"not": "a trace"}


async def ledger_agent(inputs: dict[str, Any], config_dir: str) -> Trace:
    """Notes ``start input|repeat|pid`` in the file ``inputs["ledger"]``, waits
    ``inputs["sleep_s"]``, notes ``end ...`` (or ``cancelled ...``): which calls began, which
    answered and which were cancelled, in which process. Every third case's tool step fails
    (a failed verdict); the rest pass."""
    ledger = Path(inputs["ledger"])
    key = f"{inputs['input']}|{inputs['repeat']}|{os.getpid()}"
    with ledger.open("a") as handle:
        handle.write(f"start {key}\n")
    try:
        await asyncio.sleep(float(inputs["sleep_s"]))
    except asyncio.CancelledError:
        with ledger.open("a") as handle:
            handle.write(f"cancelled {key}\n")
        raise
    with ledger.open("a") as handle:
        handle.write(f"end {key}\n")
    failing = int(inputs["input"][1:]) % 3 == 0
    step = {"id": "s1", "type": "tool", "name": "lookup", "error": "boom" if failing else None}
    return Trace.model_validate({**_trace(inputs).model_dump(), "steps": [step]})
