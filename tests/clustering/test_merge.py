"""Clusters split by topic but showing the same failure symptoms are merged into one pattern."""

from __future__ import annotations

import numpy as np

from flywheel.clustering._cluster import merge_by_features


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
