"""Sentence embeddings as Ray tasks, on a real Ray cluster on loopback (two 1-CPU nodes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from flywheel.clustering import embed_cached
from flywheel.clustering._embed_cache import make_embedder
from flywheel.config import ComputeConfig
from flywheel.embeddings import DEFAULT_MODEL, Embedder, shared_embedder
from flywheel.store import Store
from tests.helpers.ray_cluster import RayCluster, ray_cluster_on_loopback

pytestmark = [pytest.mark.slow, pytest.mark.ray]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    pytest.importorskip("ray")
    with ray_cluster_on_loopback() as cluster:
        yield cluster


def _signatures(n: int) -> list[str]:
    """Failure signatures of many lengths, so that batches differ in padding."""
    tools = ["search", "refund", "lookup_order", "send_email", "escalate"]
    return [
        f"tool {tools[i % 5]} failed: error {i % 17}; " + "retried and gave up. " * (i % 7)
        for i in range(n)
    ]


def test_embeddings_on_ray_are_the_local_vectors_and_fill_the_same_cache(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    texts = _signatures(300)  # more than one task's worth: both nodes take a share
    compute = ComputeConfig(executor=f"ray:{ray_cluster.gcs}")
    remote = make_embedder(DEFAULT_MODEL, compute=compute)
    assert isinstance(remote, Embedder)
    store = Store.open(f"sqlite:///{tmp_path / 'flywheel.db'}")
    try:
        vectors, _, stats = embed_cached(store, remote, texts + texts[:50])
        assert (stats.distinct, stats.embedded, stats.cached) == (300, 300, 0)
        assert remote._model is None  # the model ran in the Ray workers, never in the driver
        local = Embedder().encode(texts)
        assert np.array_equal(vectors[:300], local)  # bit for bit, not merely close
        assert np.array_equal(vectors[300:], local[:50])
        # The cache does not care where a vector was computed: a local run finds them all.
        again, _, stats = embed_cached(store, shared_embedder(), texts)
        assert (stats.embedded, stats.cached) == (0, 300)
        assert np.array_equal(again, local)
    finally:
        store.close()
