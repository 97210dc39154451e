"""Agents of the nightly tests: one that fails on every case (an unreachable agent)."""

from __future__ import annotations

from typing import Any

from flywheel.trace import Trace


def broken(inputs: dict[str, Any], config_dir: str) -> Trace:
    raise ConnectionError("agent endpoint refused the connection")
