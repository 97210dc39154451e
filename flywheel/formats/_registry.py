"""Formats by name: built-ins register through the same call as a user's plugin."""

from __future__ import annotations

from flywheel.errors import UserError
from flywheel.formats._protocol import TraceFormat
from flywheel.formats._source import TraceSource

_FORMATS: dict[str, TraceFormat] = {}


def register_format(fmt: TraceFormat) -> TraceFormat:
    """Add a format; detection tries formats in registration order (specific ones first)."""
    _FORMATS[fmt.name] = fmt
    return fmt


def format_names() -> list[str]:
    return list(_FORMATS)


def get_format(name: str) -> TraceFormat:
    try:
        return _FORMATS[name]
    except KeyError:
        valid = ", ".join(["auto", *_FORMATS])
        raise UserError(f"unknown format '{name}'; valid formats: {valid}") from None


def detect_format(source: TraceSource) -> TraceFormat | None:
    """The first registered format whose ``sniff`` accepts the file, or None."""
    head = source.head()
    for fmt in _FORMATS.values():
        if fmt.sniff(source, head):
            return fmt
    return None
