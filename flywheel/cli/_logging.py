"""The command line's one log handler, its level (``-v``/``-q``/``FLYWHEEL_LOG_LEVEL``), and the
progress chatter of the commands routed through it.

Library code only ever calls ``logging.getLogger(__name__)``; this module is the one place that
configures logging, from the root callback of `flywheel`. Logs go to stderr only, so a command's
``--json`` output on stdout stays parseable whatever the level.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TextIO

from rich.highlighter import NullHighlighter
from rich.logging import RichHandler

from flywheel.cli._common import err_console
from flywheel.errors import UserError

#: Overrides the default level (INFO) when neither --verbose nor --quiet is given.
LEVEL_ENV = "FLYWHEEL_LOG_LEVEL"
LEVELS: dict[str, int] = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}
#: The top-level packages whose loggers get the handler.
LOGGERS = ("flywheel", "triage", "optimizers", "replay", "ui")
#: The format of a log line when stderr is not a terminal (a cron mail, a CI log, a pipe).
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_log = logging.getLogger(__name__)


def resolve_level(verbose: bool, quiet: bool, env_value: str | None) -> int:
    """The level asked for: the options win over ``FLYWHEEL_LOG_LEVEL``; INFO by default."""
    if verbose and quiet:
        raise UserError("--verbose and --quiet contradict each other: give one of them")
    if verbose:
        return logging.DEBUG
    if quiet:
        return logging.WARNING
    if env_value is None or not env_value.strip():
        return logging.INFO
    level = LEVELS.get(env_value.strip().upper())
    if level is None:
        raise UserError(
            f"{LEVEL_ENV}={env_value.strip()!r} is not a log level; valid: {', '.join(LEVELS)}"
        )
    return level


class OneLineFormatter(logging.Formatter):
    """A record's message on a single line (a traceback, if any, still follows it)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return " ".join(super().formatMessage(record).splitlines())


def _plain_wanted(stream: TextIO) -> bool:
    ci = os.environ.get("CI", "").strip().lower()
    return not stream.isatty() or ci not in ("", "0", "false", "no")


def make_handler(stream: TextIO | None = None) -> logging.Handler:
    """RichHandler on an interactive stderr; a plain one-line handler otherwise (or in CI)."""
    stream = stream if stream is not None else sys.stderr
    if _plain_wanted(stream):
        handler: logging.Handler = logging.StreamHandler(stream)
        handler.setFormatter(OneLineFormatter(PLAIN_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S"))
        return handler
    # The console the commands' progress bars use, so log lines print above a live bar.
    return RichHandler(
        console=err_console,
        show_time=False,
        show_path=False,
        markup=False,
        highlighter=NullHighlighter(),
    )


_installed: logging.Handler | None = None
_level: int | None = None
#: Each logger's level and propagate flag from before `configure`, for `reset`.
_saved: dict[str, tuple[int, bool]] = {}


def configure(level: int, stream: TextIO | None = None) -> None:
    """Install the CLI's handler on the packages' loggers at ``level`` (idempotent).

    Called once per command by the root callback; a second call (tests invoke the app many
    times in one process) replaces the handler, so it writes to the current stderr.
    """
    global _installed, _level
    handler = make_handler(stream)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _installed is not None:
            logger.removeHandler(_installed)
        _saved.setdefault(name, (logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False  # the CLI owns the output: no second copy via the root
    _installed, _level = handler, level
    _log.debug("log level %s", logging.getLevelName(level))


def reset() -> None:
    """Take the handler off again and give the loggers back their level and propagation.

    The root group calls it when a command ends, so an app invoked in-process (tests, a
    notebook) leaves logging as it found it: a ``-q`` run cannot silence a later caller's logs.
    """
    global _installed, _level
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _installed is not None:
            logger.removeHandler(_installed)
        level, propagate = _saved.pop(name, (logging.NOTSET, True))
        logger.setLevel(level)
        logger.propagate = propagate
    _installed, _level = None, None


def chatter(name: str, json_out: bool = False) -> Callable[[str], None]:
    """A ``log=`` callback for a library function: its progress lines, at INFO on ``name``.

    ``--quiet`` silences them; with ``--json`` they drop to DEBUG, so a script gets only the
    JSON unless it asks for ``-v`` (and even then they stay on stderr).
    """
    logger = logging.getLogger(name)
    level = logging.DEBUG if json_out else logging.INFO

    def log(message: str) -> None:
        logger.log(level, "%s", message)

    return log


def progress_shown() -> bool:
    """Whether progress bars may show: at the default level only.

    ``--quiet`` hides them with the rest of the chatter; ``--verbose`` trades them for log
    lines (a live bar and a stream of DEBUG lines on one terminal garble each other).
    """
    return _level is None or _level == logging.INFO
