"""The Acme demo assistant: a simulated enterprise agent whose failures are known.

Three ways to reach it (the replay harness's agent adapters):

- Python entry point ``examples.acme_assistant:run`` — `run(inputs, config) -> Trace`;
- HTTP: ``python -m examples.acme_assistant.serve --port P`` (``POST /run``);
- LangGraph: `build_graph(config)` (invoke with `prepare(inputs)`; the result's ``trace``).

`generate` writes production-like traffic plus ground-truth labels (``flywheel demo generate``).
See README.md beside this file for the simulation.
"""

from examples.acme_assistant.agent import AgentState, prepare
from examples.acme_assistant.cli import GenerationSummary, generate
from examples.acme_assistant.config import AgentConfig, config_from_files, load_config
from examples.acme_assistant.graph import build_graph
from examples.acme_assistant.modes import CONFIG_FIXABLE, FAILURE_MODES
from examples.acme_assistant.runtime import DEFAULT_CONFIG_DIR, run

__all__ = [
    "CONFIG_FIXABLE",
    "DEFAULT_CONFIG_DIR",
    "FAILURE_MODES",
    "AgentConfig",
    "AgentState",
    "GenerationSummary",
    "build_graph",
    "config_from_files",
    "generate",
    "load_config",
    "prepare",
    "run",
]
