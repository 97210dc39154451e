"""Triage's built-ins as a plugin (entry point ``flywheel: triage``): the ``triage`` stage,
`flywheel triage ...` and `flywheel bench triage`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from flywheel.hookspecs import hookimpl


@hookimpl
def register_stages(register: Callable[[Any], None]) -> None:
    from triage._stage import TriageStage

    register(TriageStage())


@hookimpl
def register_commands(cli: typer.Typer, bench: typer.Typer) -> None:
    from triage.cli import app, bench_triage

    cli.add_typer(app, name="triage")
    bench.command("triage")(bench_triage)
