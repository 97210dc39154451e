"""Entry point `run(inputs, config) -> Trace` and the per-configuration simulation cache."""

from __future__ import annotations

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


def simulation(config: str | Path | AgentConfig | None) -> Simulation:
    """The simulation for a configuration, built once per configuration content."""
    resolved = resolve_config(config)
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
