"""Clustering runs on the store: patterns recovered, cache, determinism, identity, increments."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from flywheel.clustering import cluster_report, run_clustering
from flywheel.config import ClusteringConfig
from flywheel.embeddings import Embedder
from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import EmbeddingRow
from tests.helpers.traffic import WEEK1, WEEK2, Ingest

THREE = ["tool_timeout", "answered_from_memory", "needless_clarification"]


def _members(store: Store) -> dict[str, str | None]:
    report = cluster_report(store)
    found: dict[str, str | None] = {tid: c.id for c in report.clusters for tid in c.trace_ids}
    found.update(dict.fromkeys(report.noise_trace_ids))
    return found


def _cluster_of_pattern(members: dict[str, str | None], pattern: str) -> str | None:
    ids = Counter(cid for tid, cid in members.items() if f"-{pattern}-" in tid)
    return ids.most_common(1)[0][0]


def test_three_failure_patterns_are_recovered(
    store: Store, add_traffic: Ingest, config: ClusteringConfig, embedder: Embedder
) -> None:
    add_traffic(THREE, 12, WEEK1, "w1")
    result = run_clustering(store, config, embedder=embedder)
    assert result.kind == "full"
    assert result.traces == 36
    report = cluster_report(store)
    assert len(report.clusters) == 3
    for cluster in report.clusters:
        patterns = {tid.split("-")[1] for tid in cluster.trace_ids}
        assert len(patterns) == 1, cluster.trace_ids  # each cluster is one pattern
        assert cluster.id.startswith("C-")
        assert cluster.keywords
        assert cluster.label
        assert set(cluster.exemplar_ids) <= set(cluster.trace_ids)
        assert sum(cluster.weekly_counts.values()) == cluster.size
    clustered = sum(c.size for c in report.clusters)
    assert clustered + len(report.noise_trace_ids) == 36
    assert len(report.noise_trace_ids) <= 3


def test_traces_that_all_failed_one_way_are_one_cluster_not_noise(
    store: Store, add_traffic: Ingest, config: ClusteringConfig, embedder: Embedder
) -> None:
    """A project (or a labelled world) with a single failure pattern: HDBSCAN alone never
    selects the root of its tree and called all of them noise."""
    add_traffic(["tool_timeout"], 30, WEEK1, "w1")
    result = run_clustering(store, config, embedder=embedder)
    report = cluster_report(store)
    assert len(report.clusters) == 1
    assert report.clusters[0].size + len(report.noise_trace_ids) == 30
    assert len(report.noise_trace_ids) <= 3
    assert result.clusters == 1


def test_second_run_embeds_nothing(
    store: Store, add_traffic: Ingest, config: ClusteringConfig, embedder: Embedder
) -> None:
    add_traffic(THREE, 8, WEEK1, "w1")
    first = run_clustering(store, config, embedder=embedder, full=True)
    second = run_clustering(store, config, embedder=embedder, full=True)
    assert first.embedding["embedded"] == first.embedding["distinct"] > 0
    assert second.embedding["embedded"] == 0
    assert second.embedding["cached"] == first.embedding["distinct"]
    with store.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(EmbeddingRow)).scalar_one()
    assert rows == first.embedding["distinct"]


def test_two_runs_on_the_same_data_give_identical_clusters_and_ids(
    store: Store, add_traffic: Ingest, config: ClusteringConfig, embedder: Embedder
) -> None:
    add_traffic(THREE, 10, WEEK1, "w1")
    run_clustering(store, config, embedder=embedder, full=True)
    first = cluster_report(store).model_dump()
    second_run = run_clustering(store, config, embedder=embedder, full=True)
    assert cluster_report(store).model_dump() == first
    assert second_run.events["new"] == []
    assert second_run.events["retired"] == []


def test_a_new_week_keeps_ids_and_a_new_pattern_gets_a_new_one(
    store: Store, add_traffic: Ingest, config: ClusteringConfig, embedder: Embedder
) -> None:
    add_traffic(THREE, 10, WEEK1, "w1")
    run_clustering(store, config, embedder=embedder, full=True)
    week1 = _members(store)
    old_ids = {p: _cluster_of_pattern(week1, p) for p in THREE}
    add_traffic([*THREE, "bad_tool_arguments"], 10, WEEK2, "w2")
    result = run_clustering(store, config, embedder=embedder, full=True)
    week2 = _members(store)
    for pattern in THREE:
        assert _cluster_of_pattern(week2, pattern) == old_ids[pattern]
    new_id = _cluster_of_pattern(week2, "bad_tool_arguments")
    assert new_id is not None
    assert new_id not in old_ids.values()
    assert result.events["new"] == [new_id]
    by_id = {c.id: c for c in cluster_report(store).clusters}
    kept = by_id[str(old_ids["tool_timeout"])]
    assert list(kept.weekly_counts) == ["2026-W45", "2026-W46"]
    assert kept.first_seen is not None
    assert kept.first_seen.date() == WEEK1.date()


@pytest.mark.parametrize("voters", [1000, 3])
def test_new_traces_are_assigned_incrementally(
    store: Store,
    add_traffic: Ingest,
    config: ClusteringConfig,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    voters: int,
) -> None:
    # With 3 voters, each cluster of 10 votes through an evenly spaced sample of its members.
    monkeypatch.setattr("flywheel.clustering._run.VOTERS", voters)
    add_traffic(THREE, 10, WEEK1, "w1")
    run_clustering(store, config, embedder=embedder)
    old_ids = {p: _cluster_of_pattern(_members(store), p) for p in THREE}
    add_traffic(THREE, 4, WEEK2, "w2")
    result = run_clustering(store, config, embedder=embedder)
    assert result.kind == "incremental"
    assert result.traces == 12
    members = _members(store)
    for pattern in THREE:
        new = [cid for tid, cid in members.items() if tid.startswith(f"w2-{pattern}-")]
        assert new == [old_ids[pattern]] * 4
    again = run_clustering(store, config, embedder=embedder)
    assert again.traces == 0
    assert "no new failing traces" in again.message


def test_fewer_traces_than_the_minimum_are_all_noise_with_a_message(
    store: Store, add_traffic: Ingest, config: ClusteringConfig, embedder: Embedder
) -> None:
    add_traffic(["tool_timeout"], 3, WEEK1, "w1")
    result = run_clustering(store, config, embedder=embedder)
    assert result.clusters == 0
    assert result.noise == 3
    assert "at least" in result.message
    assert "noise" in result.message
    report = cluster_report(store)
    assert report.clusters == []
    assert len(report.noise_trace_ids) == 3


def test_a_model_that_cannot_be_loaded_is_named_with_the_fix(
    store: Store, add_traffic: Ingest
) -> None:
    add_traffic(["tool_timeout"], 3, WEEK1, "w1")
    config = ClusteringConfig(embedding_model="/nonexistent/model-dir")
    with pytest.raises(UserError, match=r"/nonexistent/model-dir.*pip install"):
        run_clustering(store, config)
