"""Clustering distinct signatures once, with their counts, gives each trace the clustering it
got when every trace was a point of its own (the per-trace path kept in `cluster_vectors`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from flywheel.clustering import cluster_report, run_clustering
from flywheel.clustering._cluster import cluster_vectors
from flywheel.clustering._embed_cache import embed_cached
from flywheel.clustering._failing import load_failing
from flywheel.clustering._run import distinct_points
from flywheel.config import ClusteringConfig
from flywheel.embeddings import Embedder
from flywheel.store import Store
from tests.helpers.traffic import WEEK1, Ingest

Features = list[tuple[str, ...]]
DISTINCT = ClusteringConfig(distinct_signatures=True)


def _world(
    seed: int, scattered: int
) -> tuple[npt.NDArray[np.float32], Features, npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Six patterns of 40 distinct signatures each plus ``scattered`` lone ones, each repeated
    1-29 times, shuffled; distinct rows in order of first appearance (as `distinct_points`
    orders them), and each trace's true pattern (a lone signature is a pattern of its own)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, 64))
    vectors, features, truth = [], [], []
    for mode in range(6):
        for _ in range(40):
            vectors.append(centres[mode] + rng.normal(scale=0.35, size=64))
            features.append((f"symptom_{mode % 3}",) if mode % 2 else ())
            truth.append(mode)
    for lone in range(scattered):
        vectors.append(rng.normal(size=64))
        features.append(())
        truth.append(100 + lone)
    unit = np.asarray(vectors) / np.linalg.norm(vectors, axis=1, keepdims=True)
    inverse = np.repeat(np.arange(len(unit)), rng.integers(1, 30, size=len(unit)))
    rng.shuffle(inverse)
    order = list(dict.fromkeys(inverse.tolist()))
    renumber = np.empty(len(unit), dtype=np.intp)
    renumber[order] = np.arange(len(order))
    return (
        unit[order].astype(np.float32),
        [features[i] for i in order],
        renumber[inverse],
        np.asarray(truth)[inverse],
    )


def _same_partition(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len({x for x, _ in pairs}) == len({y for _, y in pairs}) and all(
        (x < 0) == (y < 0) for x, y in pairs
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_distinct_rows_with_counts_cluster_every_trace_as_the_per_trace_path(seed: int) -> None:
    vectors, features, inverse, _ = _world(seed, scattered=0)
    config = DISTINCT
    per_trace = cluster_vectors(vectors[inverse], config, [features[i] for i in inverse])
    distinct = cluster_vectors(vectors, config, features, inverse=inverse)
    assert distinct.params["distinct_points"] == len(vectors) < len(inverse) // 10
    assert per_trace.n_clusters == distinct.n_clusters >= 6
    # the same parameters chosen on the same sample, the same clusters, noise and soft members
    for key in ("grid_validity", "min_cluster_size", "min_samples", "hard_noise", "merged"):
        assert distinct.params[key] == per_trace.params[key], key
    assert _same_partition(distinct.labels[inverse], per_trace.labels)
    assert np.array_equal(distinct.soft[inverse], per_trace.soft)


@pytest.mark.parametrize("seed", [1, 2])
def test_lone_signatures_differ_only_where_the_per_trace_jitter_decides(seed: int) -> None:
    """With repeated lone signatures (each too small to be a pattern), HDBSCAN's choices at the
    margin depend on the per-trace path's tie-breaking jitter; the distinct path picks the same
    parameters, nearly the same partition, and recovers the true patterns at least as well."""
    from sklearn.metrics import adjusted_rand_score

    vectors, features, inverse, truth = _world(seed, scattered=30)
    config = DISTINCT
    per_trace = cluster_vectors(vectors[inverse], config, [features[i] for i in inverse])
    distinct = cluster_vectors(vectors, config, features, inverse=inverse)
    assert distinct.params["grid_validity"] == per_trace.params["grid_validity"]
    assert distinct.params["min_cluster_size"] == per_trace.params["min_cluster_size"]
    assert adjusted_rand_score(per_trace.labels, distinct.labels[inverse]) >= 0.95
    assert adjusted_rand_score(truth, distinct.labels[inverse]) >= adjusted_rand_score(
        truth, per_trace.labels
    )


def test_a_full_run_gives_each_trace_the_per_trace_clustering(
    store: Store, add_traffic: Ingest, embedder: Embedder
) -> None:
    config = DISTINCT
    add_traffic(["tool_timeout", "answered_from_memory", "needless_clarification"], 14, WEEK1, "w")
    result = run_clustering(store, config, embedder=embedder)
    items = load_failing(store, config)
    firsts, _ = distinct_points(items)
    assert result.params["distinct_points"] == len(firsts)
    vectors, _, _ = embed_cached(store, embedder, [item.signature for item in items])
    expected = cluster_vectors(vectors, config, [item.features for item in items])
    report = cluster_report(store)
    got = {tid: c.id for c in report.clusters for tid in c.trace_ids}
    # the same partition of the traces (cluster ids are assigned by the run)
    pairs = {
        (int(label), got.get(item.trace_id))
        for item, label in zip(items, expected.labels, strict=True)
    }
    assert {label for label, cid in pairs if cid is None} <= {-1}
    assert len({label for label, _ in pairs}) == len(pairs) == len({cid for _, cid in pairs})
    assert result.noise == int((expected.labels < 0).sum())


def test_the_distinct_path_handles_one_signature_repeated() -> None:
    """Every trace failed identically: one pattern, one cluster, nothing crashes."""
    vector = np.ones((1, 32), dtype=np.float32) / np.sqrt(32)
    result = cluster_vectors(vector, DISTINCT, [()], inverse=np.zeros(50, np.intp))
    assert result.labels.tolist() == [0]


def test_many_distinct_rows_fall_back_to_clustering_every_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past `DISTINCT_LIMIT` rows the exact tree would cost more than the per-trace path: the
    traces are clustered, and each row reports its first trace's result."""
    from flywheel.clustering import _cluster

    vectors, features, inverse, _ = _world(1, scattered=0)
    config = DISTINCT
    per_trace = cluster_vectors(vectors[inverse], config, [features[i] for i in inverse])
    off = cluster_vectors(vectors, ClusteringConfig(), features, inverse=inverse)
    assert off.params["per_trace"] is True  # distinct_signatures is off by default
    assert np.array_equal(off.labels[inverse], per_trace.labels)
    monkeypatch.setattr(_cluster, "DISTINCT_LIMIT", 100)
    fallback = cluster_vectors(vectors, config, features, inverse=inverse)
    assert fallback.params["per_trace"] is True
    assert np.array_equal(fallback.labels[inverse], per_trace.labels)
