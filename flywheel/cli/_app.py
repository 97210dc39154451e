"""The `flywheel` command: typer app, global options, and library errors as one-line messages."""

from __future__ import annotations

import json
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import NoReturn

import typer
from pydantic import BaseModel
from rich.markup import escape
from sqlalchemy.exc import DBAPIError
from typer.core import TyperGroup

from flywheel.cli import _bench, _cluster, _datasets, _demo, _ingest, _reports, _retention, _traces
from flywheel.cli._common import JsonOption, console, err_console, print_json, state
from flywheel.cli._logging import LEVEL_ENV, configure, reset, resolve_level
from flywheel.errors import FlywheelError
from flywheel.nightly._cli import nightly
from flywheel.project import init_project
from flywheel.store._db import one_line
from flywheel.trace import FailureSignal, Trace

#: Set to 1 to see the traceback of an unexpected error instead of its one-line summary.
DEBUG_ENV = "FLYWHEEL_DEBUG"


class _Group(TyperGroup):
    """Turns any error raised by a command into one line on stderr and exit code 1.

    Library errors say what to do; a database error gives the driver's message; anything
    else (a bug) gives its type and message, and the traceback with ``FLYWHEEL_DEBUG=1``.
    """

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # usage errors, exit codes
            raise
        except FlywheelError as exc:
            _fail(str(exc))
        except DBAPIError as exc:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            _fail(f"database error: {one_line(exc)}")
        except Exception as exc:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            _fail(
                f"unexpected {type(exc).__name__}: {exc} (a bug: please report it; "
                f"{DEBUG_ENV}=1 shows the traceback)"
            )
        finally:
            state.close()
            reset()


def _fail(message: str) -> NoReturn:
    text = escape(" ".join(message.split()))  # "[replay] agent" is text, not markup
    err_console.print(f"[red]error:[/] {text}", highlight=False, soft_wrap=True)
    raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    name="flywheel",
    help="Turn failing production traces of LLM agents into validated, human-approved fixes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    project_dir: Path | None = typer.Option(
        None,
        "--project",
        "-p",
        envvar="FLYWHEEL_PROJECT",
        help="Project folder (default: the current directory).",
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help=f"Debug logs on stderr (or {LEVEL_ENV}=DEBUG)."
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="Only warnings and errors on stderr: no progress lines or bars "
        f"(or {LEVEL_ENV}=WARNING).",
    ),
) -> None:
    state.project_dir = project_dir
    configure(resolve_level(verbose, quiet, os.environ.get(LEVEL_ENV)))


@app.command()
def init(
    directory: Path = typer.Argument(Path("."), help="Folder of the new project."),
    config: Path | None = typer.Option(
        None, "--config", help="The agent's configuration directory (put under git for fixes)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Create a project: flywheel.toml and its database (idempotent)."""
    if config is not None and not config.is_dir():
        raise FlywheelError(f"--config {config}: no such directory")
    project, created = init_project(directory, config_repo=config)
    if json_out:
        print_json(
            {"project": str(project.root), "created": created, "database": project.database_url}
        )
    else:
        verb = "created" if created else "already exists:"
        console.print(f"project {verb} {project.root} (database {project.database_url})")


@app.command()
def schema(
    kind: str = typer.Argument("trace", help="trace | signal"),
) -> None:
    """Print the JSON Schema of the native trace record (or of a failure signal)."""
    models: dict[str, type[BaseModel]] = {"trace": Trace, "signal": FailureSignal}
    if kind not in models:
        raise FlywheelError(f"unknown schema '{kind}'; valid: {', '.join(models)}")
    print(json.dumps(models[kind].model_json_schema(), indent=2))


app.command()(_ingest.ingest)
app.command()(_reports.signals)
app.command()(_reports.stats)
app.command()(_reports.quarantine)
app.command()(_cluster.cluster)
app.command()(_cluster.clusters)
app.command()(_retention.retention)
app.command()(nightly)
app.add_typer(_traces.app, name="traces")
app.add_typer(_bench.app, name="bench")
app.add_typer(_demo.app, name="demo")
app.add_typer(_datasets.datasets_app, name="datasets")
app.add_typer(_datasets.export_app, name="export")


def load_plugins() -> None:
    """Add the commands of installed plugins (entry point group ``flywheel.plugins``).

    Each entry point names a ``register(app: typer.Typer) -> None`` function. The packages
    above the core (triage, optimizers, replay, ui) register their commands this way, exactly
    as a third-party plugin would, so the core never imports them. A built-in whose module is
    not there (a partial install) is skipped; any other import error is a real bug and raises.
    """
    for entry in sorted(entry_points(group="flywheel.plugins"), key=lambda ep: ep.name):
        try:
            register = entry.load()
        except ModuleNotFoundError as exc:
            if exc.name and entry.value.startswith(exc.name):
                continue
            raise
        register(app)


load_plugins()


def main() -> None:
    """Entry point of the `flywheel` script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print(
            "[yellow]interrupted:[/] committed work is kept; run the command again to finish"
        )
        raise SystemExit(130) from None
