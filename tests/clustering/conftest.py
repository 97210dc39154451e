"""Fixtures of the clustering tests: one embedder for the session, crafted traffic in a store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from flywheel.config import ClusteringConfig, SignalsConfig
from flywheel.embeddings import Embedder, shared_embedder
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store
from tests.helpers.traffic import Ingest, traffic, write_jsonl


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real offline MiniLM, loaded once for the whole session."""
    return shared_embedder()


@pytest.fixture
def config() -> ClusteringConfig:
    return ClusteringConfig()


@pytest.fixture
def add_traffic(store: Store, tmp_path: Path) -> Ingest:
    """Ingest crafted traffic into ``store`` and detect failures; returns the labels."""

    def add(
        patterns: list[str], per_pattern: int, week: datetime, tag: str
    ) -> dict[str, dict[str, str]]:
        records, labels = traffic(patterns, per_pattern, week, tag=tag)
        path = write_jsonl(tmp_path / f"{tag}.jsonl", records)
        ingest_paths(store, [path])
        detect_failures(store, SignalsConfig())
        return labels

    return add
