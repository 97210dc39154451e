"""Field helpers for the formats that walk nested producer records (OTLP, LangSmith, Langfuse).

A converter raises `BadField` deep inside a record; the format's ``read`` turns it into a
`Rejected` naming the field path, so the rest of the file still ingests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class BadField(Exception):
    """A field of a producer record is missing or has the wrong type."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def field_path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def list_field(value: Any, where: str) -> list[Any]:
    """A list (absent means empty); anything else is a `BadField`."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadField(where, f"expected a list, got {type(value).__name__}")
    return value


def timestamp_field(value: Any, where: str) -> datetime | None:
    """ISO 8601 (naive means UTC) or epoch seconds / ms / µs / ns, as an aware datetime."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
            while seconds > 1e11:  # ms, µs or ns since the epoch
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise BadField(where, f"expected an ISO 8601 timestamp, got {value!r}")
