"""GEPA (reflective prompt evolution) as a strategy: needs the optional ``gepa`` package.

Not bundled: choosing it without the package raises a `UserError` saying how to install it.
"""

from __future__ import annotations

import importlib.util

from flywheel.errors import UserError
from optimizers._task import OptimizationTask, Proposal


def gepa_available() -> bool:
    return importlib.util.find_spec("gepa") is not None


class GepaStrategy:
    name = "gepa"

    def __init__(self) -> None:
        if not gepa_available():
            raise UserError(
                "the 'gepa' strategy needs the gepa package: pip install gepa "
                "(or choose one of the offline strategies: rules, fewshot, routing, revert)"
            )

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        raise UserError(
            "the gepa adapter (reflection LM via flywheel.llm, evaluation via replay) is not "
            "implemented yet; use the offline strategies"
        )
