"""Identity matching: one-to-one on centroid similarity, with splits, merges and new ids."""

from __future__ import annotations

import numpy as np

from flywheel.clustering import match_clusters
from flywheel.clustering._identity import symptom_profile


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_matching_keeps_ids_and_numbers_new_clusters_in_order() -> None:
    previous = [("C-0001", _unit(1, 0, 0)), ("C-0002", _unit(0, 1, 0))]
    new = np.stack([_unit(0, 1, 0.05), _unit(0, 0, 1), _unit(1, 0.05, 0)])
    result = match_clusters(new, previous, threshold=0.8, next_number=3)
    assert result.ids == ["C-0002", "C-0003", "C-0001"]
    assert result.new == ["C-0003"]
    assert result.retired == []


def test_two_new_clusters_cannot_take_the_same_id_and_a_split_is_recorded() -> None:
    previous = [("C-0001", _unit(1, 0, 0))]
    new = np.stack([_unit(1, 0.2, 0), _unit(1, -0.2, 0)])
    result = match_clusters(new, previous, threshold=0.8, next_number=2)
    assert sorted(result.ids) == ["C-0001", "C-0002"]
    assert result.splits == [{"from": "C-0001", "into": ["C-0001", "C-0002"]}]


def test_a_merge_retires_the_absorbed_cluster() -> None:
    previous = [("C-0001", _unit(1, 0.2, 0)), ("C-0002", _unit(1, -0.2, 0))]
    result = match_clusters(np.stack([_unit(1, 0, 0)]), previous, threshold=0.8, next_number=3)
    assert result.ids == ["C-0001"]
    assert result.retired == ["C-0002"]
    assert result.merges == [{"into": "C-0001", "from": ["C-0001", "C-0002"]}]


def test_patterns_that_read_alike_keep_their_ids_by_their_symptoms() -> None:
    # Two e-mail patterns with almost the same text centroid: a made-up recipient and a
    # miscalibrated judge. On the centroids alone, the slightly shifted new ones swap ids.
    previous = [("C-0001", _unit(1, 0.02, 0)), ("C-0002", _unit(1, -0.02, 0))]
    new = np.stack([_unit(1, 0.01, 0), _unit(1, 0.05, 0)])
    judge = {"symptom:evaluators_disagree": 0.9}
    invented = {"symptom:unknown_addressee": 0.95, "symptom:evaluators_disagree": 0.1}
    alone = match_clusters(new, previous, threshold=0.8, next_number=3)
    assert alone.ids == ["C-0002", "C-0001"]

    result = match_clusters(
        new,
        previous,
        threshold=0.8,
        next_number=3,
        profiles=([invented, judge], [invented, judge]),
        feature_weight=0.5,
    )
    assert result.ids == ["C-0001", "C-0002"]


def test_a_symptom_profile_is_the_share_of_members_showing_each_symptom() -> None:
    members = [("a", "b"), ("a",), (), ("a", "a")]
    assert symptom_profile(members) == {"a": 0.75, "b": 0.25}
    assert symptom_profile([]) == {}
