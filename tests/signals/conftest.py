"""Fixture of the signal tests: write native JSONL traces and ingest them into ``store``.

The ``store`` fixture itself is the shared one (tests/conftest.py): SQLite always,
PostgreSQL when FLYWHEEL_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from flywheel.ingest import ingest_paths
from flywheel.store import Store
from tests.helpers.signals import Ingest


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
