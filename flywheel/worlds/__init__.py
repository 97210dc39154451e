"""Replayable worlds: simulated agents whose every request can be run again under any
configuration, with a hidden truth, so the whole loop can be measured (`flywheel bench loop`).

A labelled world (`flywheel.bench._worlds`) is only a trace generator run as a separate
process. A replayable world is a Python module imported into this process: its agent is what
replay calls, its ``truth`` is what the loop measures against. Its contract is
`ReplayableWorld`; examples/worlds/REPLAYABLE.md says the same for a world writer.
"""

from flywheel.worlds._contract import (
    GenerationSummary,
    ReplayableWorld,
    contract_problems,
    python_agent,
    replay_inputs,
)
from flywheel.worlds._loading import (
    CONTRACT_DOC,
    DEMO_ALIASES,
    DEMO_WORLD,
    demo_world,
    load_world,
    replayable_names,
)
from flywheel.worlds._preflight import MAX_DISAGREEMENT, ReplayCheck, check_replay

__all__ = [
    "CONTRACT_DOC",
    "DEMO_ALIASES",
    "DEMO_WORLD",
    "MAX_DISAGREEMENT",
    "GenerationSummary",
    "ReplayCheck",
    "ReplayableWorld",
    "check_replay",
    "contract_problems",
    "demo_world",
    "load_world",
    "python_agent",
    "replay_inputs",
    "replayable_names",
]
