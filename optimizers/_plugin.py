"""The optimizers' built-ins as a plugin (entry point ``flywheel: optimizers``): the strategies,
the ``optimize`` stage, the candidate provider and the `optimize` / `candidates` commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from flywheel.hookspecs import hookimpl


@hookimpl
def register_strategies(register: Callable[[str, Callable[[], Any]], None]) -> None:
    from optimizers.strategies import (
        FewShotMining,
        GepaStrategy,
        InstructionRules,
        RevertChange,
        RoutingEdits,
    )

    register("rules", InstructionRules)
    register("fewshot", FewShotMining)
    register("routing", RoutingEdits)
    register("revert", RevertChange)
    register("gepa", GepaStrategy)


@hookimpl
def register_stages(register: Callable[[Any], None]) -> None:
    from optimizers._stage import OptimizeStage

    register(OptimizeStage())


@hookimpl
def register_candidate_providers(register: Callable[[Any], None]) -> None:
    from optimizers._provider import OptimizerCandidates

    register(OptimizerCandidates())


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    from optimizers.cli import app

    cli.add_typer(app)
