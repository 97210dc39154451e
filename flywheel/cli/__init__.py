"""The `flywheel` command line."""

from flywheel.cli._app import app, main

__all__ = ["app", "main"]
