"""Helpers for the signal tests: write native JSONL traces and ingest them into ``store``.

The ``store`` fixture itself is the shared one (tests/conftest.py): SQLite always,
PostgreSQL when FLYWHEEL_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flywheel.ingest import ingest_paths
from flywheel.store import Store

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


@pytest.fixture
def ingest(store: Store, tmp_path: Path) -> Ingest:
    """Ingest records (as a new JSONL file) and return every stored trace id's pk."""
    counter = itertools.count()

    def run(records: list[dict[str, Any]]) -> dict[str, int]:
        path = tmp_path / f"traces-{next(counter)}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        counts = ingest_paths(store, [path])
        assert counts.quarantined == 0, counts.errors
        return {t.trace_id: t.pk for t in store.list_traces(limit=100_000)}

    return run
