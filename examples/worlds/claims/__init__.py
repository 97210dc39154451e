"""Harbourline Mutual claims assistant — a replayable labelled world."""
from ._sim import (DEFAULT_CONFIG_DIR, FAILURE_MODES, CONFIG_FIXABLE, SEVERITY,  # noqa: F401
                   simulate as _simulate)
from ._gen import generate, requests  # noqa: F401

AGENT = "python:examples.worlds.claims:run"


def run(inputs: dict, config_dir=None) -> dict:
    """Run the agent once on one request under the configuration in `config_dir`."""
    return _simulate(inputs, config_dir)[0]


def truth(inputs: dict, config_dir=None):
    """The failure mode this request has under that configuration (None: healthy)."""
    return _simulate(inputs, config_dir)[1]


__all__ = ["AGENT", "DEFAULT_CONFIG_DIR", "FAILURE_MODES", "CONFIG_FIXABLE", "run", "truth", "generate"]
