"""The app's built-ins as a plugin (entry point ``flywheel: ui``): the ``queue`` stage and the
`ui`, `users`, `audit`, `queue`, `approve`, `reject`, `rollback` commands with
`flywheel bench ui`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from flywheel.hookspecs import hookimpl


@hookimpl
def register_stages(register: Callable[[Any], None]) -> None:
    from ui.approvals._stage import QueueStage

    register(QueueStage())


@hookimpl
def register_commands(cli: typer.Typer, bench: typer.Typer) -> None:
    from ui import cli as commands

    cli.command("ui")(commands.ui)
    cli.add_typer(commands.users_app, name="users")
    cli.add_typer(commands.audit_app, name="audit")
    cli.add_typer(commands.queue_app, name="queue")
    cli.command("approve")(commands.approve_command)
    cli.command("reject")(commands.reject_command)
    cli.command("rollback")(commands.rollback_command)
    bench.command("ui")(commands.bench_ui)
