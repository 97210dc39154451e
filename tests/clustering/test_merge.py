"""Clusters split by topic but showing the same failure symptoms are merged into one pattern."""

from __future__ import annotations

import numpy as np

from flywheel.clustering._cluster import merge_by_features, split_by_features


def test_clusters_with_the_same_dominant_symptoms_merge_and_others_stay() -> None:
    labels = np.array([0] * 10 + [1] * 10 + [2] * 10 + [3] * 10 + [4] * 10 + [-1] * 2)
    citation = ("symptom:citation_mismatch",)
    features: list[tuple[str, ...]] = list(
        [citation] * 8
        + [()] * 2  # 0: mostly a citation mismatch
        + [citation] * 7
        + [("symptom:stale_source",)] * 3  # 1: the same at 70 %
        + [()] * 10  # 2: no symptom: the embedding's split stands
        + [()] * 10  # 3: no symptom either
        + [citation] * 6
        + [()] * 4  # 4: only 60 %, not a clear majority
        + [citation] * 2  # noise stays noise
    )
    merged, count = merge_by_features(labels, features, 0.7)
    assert count == 1
    assert merged[0] == merged[10] != merged[20]
    assert len({merged[0], merged[20], merged[30], merged[40]}) == 4
    assert sorted(set(merged.tolist())) == [-1, 0, 1, 2, 3]  # renumbered without gaps
    assert (merged[-2:] == -1).all()
    assert (merge_by_features(labels, features, 1.0)[0] == labels).all()  # pure clusters only


def test_a_cluster_holding_two_failures_that_read_alike_is_split_along_their_symptoms() -> None:
    invented, judge = ("symptom:unknown_addressee",), ("symptom:evaluators_disagree",)
    labels = np.array([0] * 30 + [1] * 12 + [-1])
    features: list[tuple[str, ...]] = list(
        [invented] * 12
        + [judge] * 10
        + [()] * 8  # 0: two failures, and a few without symptom
        + [invented] * 6
        + [judge] * 6  # 1: two groups, each smaller than the minimum size
        + [judge]  # noise stays noise
    )
    split, count = split_by_features(labels, features, 10)
    assert count == 1
    assert set(split[:12].tolist()) == {0}  # the largest group keeps the number, with the rest
    assert set(split[22:30].tolist()) == {0}
    assert set(split[12:22].tolist()) == {2}
    assert (split[30:] == labels[30:]).all()  # no part would reach the minimum size
    assert (split_by_features(labels, features, 13)[0] == labels).all()

    # Once split, the parts join the clusters that show the same failure.
    merged, _ = merge_by_features(np.concatenate([split, [3] * 10]), features + [judge] * 10, 0.7)
    assert merged[12] == merged[-1] != merged[0]


def test_one_failure_showing_overlapping_symptom_sets_is_not_split() -> None:
    # A run-out CI queue: a timeout, then an outage or a retry loop, in varying combinations.
    timeout, outage, loop = "symptom:tool_timeout", "symptom:infrastructure_error", "symptom:loop"
    labels = np.array([0] * 40)
    features: list[tuple[str, ...]] = list(
        [(timeout,)] * 12 + [(outage, timeout)] * 12 + [(loop, timeout)] * 10 + [()] * 6
    )
    split, count = split_by_features(labels, features, 10)
    assert count == 0
    assert (split == labels).all()
