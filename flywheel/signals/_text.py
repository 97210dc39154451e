"""Small text helpers shared by the signal modules: quoting evidence, shortening errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_WS = re.compile(r"\s+")
#: UUIDs and long hex ids change from run to run; the evidence keeps their first characters.
_VOLATILE = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{16,}\b",
    re.IGNORECASE,
)


def quote(text: str, limit: int = 120) -> str:
    """``text`` on one line, cut to ``limit`` characters, in single quotes."""
    flat = _WS.sub(" ", text).strip()
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return f"'{flat}'"


def first_line(text: str, limit: int = 160) -> str:
    """The first non-empty line of an error, volatile ids shortened, cut to ``limit``."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = _VOLATILE.sub(lambda m: m.group(0)[:8] + "…", line)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def epoch(value: datetime) -> float:
    """Seconds since the epoch; a naive datetime is read as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()
