"""Replay's built-ins as a plugin (entry point ``flywheel: replay``): the scorers, the ``replay``
evaluator, the ``gate`` and ``drift`` stages, and the `replay` / `gate` / `cases` commands with
`flywheel bench replay|scale`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from flywheel.hookspecs import hookimpl


@hookimpl
def register_scorers(register: Callable[[Any], None]) -> None:
    from replay._scorers import BUILTIN_SCORERS

    for scorer in BUILTIN_SCORERS:
        register(scorer())


@hookimpl
def register_evaluators(register: Callable[[str, Callable[[Any], Any]], None]) -> None:
    from replay._evaluator import replay_evaluator

    register("replay", replay_evaluator)


@hookimpl
def register_stages(register: Callable[[Any], None]) -> None:
    from replay._stage import DriftStage, GateStage

    register(GateStage())
    register(DriftStage())


@hookimpl
def register_commands(cli: typer.Typer, bench: typer.Typer) -> None:
    from replay import cli as commands

    cli.command("replay")(commands.replay)
    cli.command("gate")(commands.gate)
    cli.add_typer(commands.cases_app, name="cases")
    bench.command("replay")(commands.bench_replay)
    bench.command("scale")(commands.bench_scale)
