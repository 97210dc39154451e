"""Strategies built from a project's settings (what `flywheel optimize --strategy` runs).

Most strategies need nothing but their name. GEPA needs an evaluator and the project's LLM
settings: the evaluator named by ``[optimize] gepa_evaluator`` (registered by a plugin's
``register_evaluators`` hook), the reflection model of ``[llm] models.optimizer`` (offline,
GEPA's search drives the instruction rules), and the project's LLM cache and ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from optimizers._evaluators import load_evaluator
from optimizers._protocol import Strategy
from optimizers._registry import resolve_strategy

if TYPE_CHECKING:
    from flywheel.project import Project


def configured_strategy(name: str, project: Project) -> Strategy:
    """The strategy ``name`` set up for ``project`` (a `UserError` lists valid names)."""
    strategy = resolve_strategy(name)
    if name == "gepa":
        from optimizers.strategies.gepa import GepaStrategy

        settings = project.settings
        strategy = GepaStrategy(
            evaluator=load_evaluator(settings.optimize.gepa_evaluator, project),
            llm=settings.llm,
            llm_store=project.data_dir / "llm.sqlite",
            max_metric_calls=settings.optimize.gepa_max_metric_calls,
        )
    return strategy


def configured_strategies(names: Sequence[str] | None, project: Project) -> list[Strategy] | None:
    """Each named strategy set up for ``project``; None (the defaults) when none is named."""
    if not names:
        return None
    return [configured_strategy(name, project) for name in names]
