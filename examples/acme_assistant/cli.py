"""The demo world as Flywheel's CLI finds it (``FLYWHEEL_DEMO_WORLD``).

`generate` is the function behind ``flywheel demo generate`` (writes traces + labels.json);
`DEFAULT_CONFIG_DIR` is the configuration a demo project starts from; `FAILURE_MODES` and
`CONFIG_FIXABLE` tell ``flywheel demo run`` / ``bench loop`` which true modes a fix may reduce.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from examples.acme_assistant.agent import prepare
from examples.acme_assistant.generate import generate_traffic, label_of
from examples.acme_assistant.modes import CONFIG_FIXABLE, FAILURE_MODES
from examples.acme_assistant.runtime import DEFAULT_CONFIG_DIR, simulation
from flywheel.errors import UserError

#: How Flywheel's replay harness reaches this agent (``[replay] agent`` in flywheel.toml).
AGENT = "python:examples.acme_assistant:run"

__all__ = [
    "AGENT",
    "CONFIG_FIXABLE",
    "DEFAULT_CONFIG_DIR",
    "FAILURE_MODES",
    "GenerationSummary",
    "generate",
    "truth",
]


class GenerationSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    out: Path
    labels: Path
    traces: int
    sessions: int
    failing: int
    failure_rate: float
    by_mode: dict[str, int]
    seed: int
    config_dir: Path
    config_digest: str
    seconds: float


def generate(
    n: int, seed: int, config_dir: Path | None, out: Path, start: date | None = None
) -> GenerationSummary:
    """Write ``n`` native JSONL traces to ``out`` and ground truth to ``labels.json`` beside it.

    ``labels.json`` maps every failing trace id to ``{"failure_mode", "root_cause"}``.
    """
    began = time.perf_counter()
    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    directory = Path(config_dir) if config_dir is not None else DEFAULT_CONFIG_DIR
    sim = simulation(directory)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    labels: dict[str, dict[str, str]] = {}
    by_mode: dict[str, int] = {}
    sessions: set[str] = set()
    count = 0
    with out.open("wb") as handle:
        for item in generate_traffic(sim, n, seed, start):
            handle.write(item.trace.to_json() + b"\n")
            sessions.add(item.trace.session_id or "")
            count += 1
            if item.failure_mode:
                labels[item.trace.trace_id] = label_of(item.failure_mode)
                by_mode[item.failure_mode] = by_mode.get(item.failure_mode, 0) + 1
    labels_path = out.with_name("labels.json")
    labels_path.write_bytes(
        orjson.dumps(labels, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
    )
    return GenerationSummary(
        out=out,
        labels=labels_path,
        traces=count,
        sessions=len(sessions),
        failing=len(labels),
        failure_rate=round(len(labels) / count, 4),
        by_mode=dict(sorted(by_mode.items())),
        seed=seed,
        config_dir=directory,
        config_digest=sim.config.digest,
        seconds=round(time.perf_counter() - began, 2),
    )


def truth(inputs: dict[str, Any], config_dir: Path) -> str | None:
    """The hidden failure mode of one request under a configuration (None: it succeeds).

    The same inputs draw the same random numbers under any configuration, so two
    configurations compared on the same requests differ only by what the configuration does.
    """
    failure: str | None = simulation(config_dir).drive(prepare(inputs)).get("failure")
    return failure
