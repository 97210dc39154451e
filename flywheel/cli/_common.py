"""What every command shares: the project option, JSON output, and one-line errors."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console

from flywheel.project import Project, load_project
from flywheel.store import Store

console = Console()
err_console = Console(stderr=True)


class State:
    """Per-invocation state: set by the root callback, cleaned up when the command ends."""

    def __init__(self) -> None:
        self.project_dir: Path | None = None
        self.stores: list[Store] = []

    def close(self) -> None:
        for store in self.stores:
            store.close()
        self.stores.clear()


state = State()


def project() -> Project:
    return load_project(state.project_dir)


def open_store(proj: Project | None = None) -> Store:
    """The project's store, closed when the command ends."""
    store = (proj or project()).open_store()
    state.stores.append(store)
    return store


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    """Machine-readable output on stdout: nothing else is printed there with --json."""
    sys.stdout.write(json.dumps(data, default=_default, ensure_ascii=False, indent=2) + "\n")


JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")
#: For the commands that write the pipeline's data under its run lock (`flywheel.store.run_lock`).
WaitOption = typer.Option(
    0.0,
    "--wait",
    min=0,
    envvar="FLYWHEEL_WAIT",
    help="Seconds to wait when a nightly run or another pipeline command holds the lock "
    "(default: exit at once with one line naming the holder).",
)
