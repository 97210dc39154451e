"""Entry point `run(inputs, config) -> Trace` and the per-configuration simulation cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from examples.acme_assistant.agent import Simulation, prepare
from examples.acme_assistant.config import AgentConfig, load_config
from flywheel.trace import Trace

DEFAULT_CONFIG_DIR = Path(__file__).with_name("config")
_simulations: dict[str, Simulation] = {}


def resolve_config(config: str | Path | AgentConfig | None) -> AgentConfig:
    if isinstance(config, AgentConfig):
        return config
    return load_config(DEFAULT_CONFIG_DIR if config is None else Path(config))


def _stat_key(directory: Path) -> tuple[tuple[str, int, int], ...]:
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            st = os.stat(os.path.join(root, name))
            found.append((os.path.join(root, name), st.st_size, st.st_mtime_ns))
    return tuple(sorted(found))


_by_directory: dict[Path, tuple[tuple[tuple[str, int, int], ...], Simulation]] = {}


def simulation(config: str | Path | AgentConfig | None) -> Simulation:
    """The simulation for a configuration, built once per configuration content.

    A directory is re-read only when one of its files changed (size or mtime): a replay calls
    `run` thousands of times with the same directory.
    """
    if isinstance(config, str | Path):
        directory = Path(config).resolve()
        key = _stat_key(directory)
        known = _by_directory.get(directory)
        if known is not None and known[0] == key:
            return known[1]
        sim = _simulation(resolve_config(directory))
        _by_directory[directory] = (key, sim)
        return sim
    return _simulation(resolve_config(config))


def _simulation(resolved: AgentConfig) -> Simulation:
    if resolved.digest not in _simulations:
        _simulations[resolved.digest] = Simulation(resolved)
    return _simulations[resolved.digest]


def run(inputs: dict[str, Any], config: str | Path | AgentConfig | None = None) -> Trace:
    """Run the assistant on one request.

    ``inputs``: ``input`` (the request, required), optional ``history`` (earlier user messages),
    ``seed`` and ``repeat`` (integers choosing the noise), ``timestamp`` (ISO 8601),
    ``trace_id``, ``session_id``, ``user_id``. ``config``: a configuration directory or an
    `AgentConfig` (default: the shipped week-1 configuration).
    """
    sim = simulation(config)
    return sim.drive(prepare(inputs))["trace"]
