"""The `flywheel` command line.

`app` and `main` load on first use: the packages' command modules import `flywheel.cli._common`,
and building the app loads every plugin's commands, so importing this package must not build it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from flywheel.cli import _app

        return getattr(_app, name)
    raise AttributeError(f"module 'flywheel.cli' has no attribute '{name}'")
