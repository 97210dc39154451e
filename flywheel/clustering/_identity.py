"""Identity over time: a run's clusters take the ids of the previous run's clusters they match.

Matching maximises total centroid cosine similarity with a one-to-one assignment
(`scipy.optimize.linear_sum_assignment`); a pair counts only at ``threshold`` or above. Each
centroid is extended by its cluster's symptom profile (the share of members showing each
symptom), weighted as in clustering: two patterns whose answers read alike but that failed
differently (a made-up recipient, a miscalibrated judge) have nearly the same text centroid,
and would otherwise swap ids from one week to the next. A new
cluster left over that is still close to a matched old one is a *split* of it; an old cluster
left over that is close to a matched new one was *merged* into it. Everything else is new
(next free number) or retired.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from flywheel.clustering._cluster import append_weighted


def cluster_id(number: int) -> str:
    return f"C-{number:04d}"


def id_number(identifier: str) -> int:
    try:
        return int(identifier.split("-", 1)[1])
    except (IndexError, ValueError):
        return 0


@dataclass
class IdentityResult:
    """The id of each new cluster (in input order) and what happened between the runs."""

    ids: list[str]
    matched: dict[str, float] = field(default_factory=dict)
    new: list[str] = field(default_factory=list)
    splits: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    def events(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "new": self.new,
            "splits": self.splits,
            "merges": self.merges,
            "retired": self.retired,
        }


def symptom_profile(members: Sequence[Sequence[str]]) -> dict[str, float]:
    """The share of ``members`` (their symptom features) that shows each symptom."""
    counts = Counter(name for names in members for name in set(names))
    return {name: n / len(members) for name, n in sorted(counts.items())} if members else {}


def _shares(
    profiles: Sequence[Mapping[str, float]], vocabulary: Sequence[str]
) -> npt.NDArray[np.float64]:
    return np.array([[p.get(name, 0.0) for name in vocabulary] for p in profiles])


def match_clusters(
    centroids: npt.NDArray[np.float32],
    previous: Sequence[tuple[str, npt.NDArray[np.float32]]],
    *,
    threshold: float,
    next_number: int,
    profiles: tuple[Sequence[Mapping[str, float]], Sequence[Mapping[str, float]]] | None = None,
    feature_weight: float = 0.0,
) -> IdentityResult:
    """Give each row of ``centroids`` an id: a previous cluster's, or a new one in row order.

    ``profiles``: the symptom profiles of the new and of the previous clusters, in order.
    """
    k = int(centroids.shape[0])
    ids: list[str | None] = [None] * k
    result = IdentityResult(ids=[])
    old_ids = [identifier for identifier, _ in previous]
    sims = np.zeros((k, len(previous)))
    if k and previous:
        from scipy.optimize import linear_sum_assignment

        new = centroids.astype(np.float64)
        old = np.stack([vector for _, vector in previous]).astype(np.float64)
        if profiles is not None and feature_weight > 0:
            vocabulary = sorted({name for group in profiles for p in group for name in p})
            new = append_weighted(new, _shares(profiles[0], vocabulary), feature_weight)
            old = append_weighted(old, _shares(profiles[1], vocabulary), feature_weight)
        sims = new @ old.T
        rows, cols = linear_sum_assignment(-sims)
        for row, col in zip(rows, cols, strict=True):
            if sims[row, col] >= threshold:
                ids[row] = old_ids[col]
                result.matched[old_ids[col]] = round(float(sims[row, col]), 4)
    number = next_number
    for row in range(k):
        if ids[row] is None:
            ids[row] = cluster_id(number)
            result.new.append(cluster_id(number))
            number += 1
    final = [identifier for identifier in ids if identifier is not None]
    result.ids = final
    if not previous or not k:
        result.retired = [i for i in old_ids if i not in result.matched]
        return result
    splits: dict[str, list[str]] = {}
    for row, identifier in enumerate(final):
        if identifier in result.new:
            col = int(np.argmax(sims[row]))
            if sims[row, col] >= threshold and old_ids[col] in result.matched:
                splits.setdefault(old_ids[col], [old_ids[col]]).append(identifier)
    result.splits = [{"from": old, "into": into} for old, into in sorted(splits.items())]
    merges: dict[str, list[str]] = {}
    for col, old_id in enumerate(old_ids):
        if old_id in result.matched:
            continue
        result.retired.append(old_id)
        row = int(np.argmax(sims[:, col]))
        if sims[row, col] >= threshold and final[row] not in result.new:
            merges.setdefault(final[row], [final[row]]).append(old_id)
    result.merges = [{"into": new, "from": olds} for new, olds in sorted(merges.items())]
    return result
