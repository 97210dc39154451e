"""Two weeks of the demo world: each failure pattern keeps its cluster id into the next week.

The demo's e-mail drafts fail in several ways (an invented recipient, a miscalibrated judge, a
stale or missing document) with answers that read alike, so their clusters' text centroids
nearly coincide; identity must follow the failure, not only the text.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from examples.acme_assistant import generate
from flywheel.clustering import cluster_report, run_clustering
from flywheel.config import ClusteringConfig, SignalsConfig
from flywheel.embeddings import Embedder
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store

WEEKS = ((1, date(2026, 11, 2)), (3, date(2026, 11, 9)))


def _patterns(store: Store, truth: dict[str, str]) -> dict[str, str]:
    """Cluster id -> its failure mode, for clusters in which one mode holds 80 % or more."""
    patterns = {}
    for cluster in cluster_report(store).clusters:
        modes = Counter(truth[t] for t in cluster.trace_ids if t in truth)
        if modes:
            mode, count = modes.most_common(1)[0]
            if count >= 0.8 * sum(modes.values()):
                patterns[cluster.id] = mode
    return patterns


@pytest.mark.slow
def test_demo_patterns_keep_their_ids_over_a_week_of_new_traffic(
    embedder: Embedder, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/weeks.db")
    truth: dict[str, str] = {}
    weeks = []
    for seed, start in WEEKS:
        made = generate(5000, seed, None, tmp_path / f"week{seed}" / "traces.jsonl", start)
        truth |= {k: v["failure_mode"] for k, v in json.loads(made.labels.read_text()).items()}
        ingest_paths(store, [made.out])
        detect_failures(store, SignalsConfig())
        run_clustering(store, ClusteringConfig(), embedder=embedder, full=True)
        weeks.append(_patterns(store, truth))
    store.close()
    first, second = weeks
    assert len(first) >= 15
    assert {cid: second.get(cid) for cid in first} == first
