"""Healthy native trace records for the signal tests, and the type of their ``ingest`` fixture."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Ingest = Callable[[list[dict[str, Any]]], dict[str, int]]


def record(trace_id: str, **fields: Any) -> dict[str, Any]:
    """A healthy native trace record; keyword arguments override or add fields."""
    base: dict[str, Any] = {
        "trace_id": trace_id,
        "input": f"Summarize the escalation notes for account {trace_id}",
        "output": "Here is the summary of the escalation notes.",
        "timestamp": "2026-03-02T10:00:00Z",
        "latency_ms": 1200,
        "cost_usd": 0.002,
        "steps": [
            {"id": "s1", "type": "router", "name": "route", "output": {"route": "search"}},
            {"id": "s2", "parent_id": "s1", "type": "tool", "name": "search_docs"},
        ],
        "scores": {"groundedness": 0.9},
    }
    base.update(fields)
    return base
