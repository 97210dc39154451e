"""Incremental assignment: new failing traces join existing clusters without a re-cluster.

The equivalent of HDBSCAN's approximate prediction that survives between processes: the new
vector's ``k`` nearest clustered traces vote (weighted by cosine similarity; in the space the
clustering used, symptom features included, when the caller passes it), and the winner is
accepted when it holds at least half the vote and the vector lies within the cluster's
radius (the 5th percentile of its members' similarity to the centroid, less a small margin).
Otherwise the trace is noise until the next full re-cluster. At most `VOTERS` members of a
cluster, spread evenly over it, take part (the caller picks them): the vote stays the same in
kind and its cost stops growing with the cluster (1,000 traces against 110,000 members: 5.8 s
with every member voting, 2.0 s with the cap, `flywheel bench cluster --assign 1000`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

_ROWS = 256
#: Members per cluster that take part in the vote.
VOTERS = 1000
#: Slack below a cluster's radius that still counts as inside (tight clusters have radius ~1).
RADIUS_MARGIN = 0.05


def cluster_radius(vectors: npt.NDArray[np.float32], centroid: npt.NDArray[np.float32]) -> float:
    """The similarity to the centroid that 95 % of the members reach."""
    if vectors.shape[0] == 0:
        return 1.0
    return float(np.percentile(vectors @ centroid, 5))


def unit_centroid(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    mean = vectors.astype(np.float64).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    result: npt.NDArray[np.float32] = (mean / (norm or 1.0)).astype(np.float32)
    return result


def assign_vectors(
    new: npt.NDArray[np.float32],
    members: npt.NDArray[np.float32],
    member_clusters: Sequence[str],
    centroids: Mapping[str, npt.NDArray[np.float32]],
    radii: Mapping[str, float],
    *,
    k: int = 10,
    min_share: float = 0.5,
    voting_space: tuple[npt.NDArray[Any], npt.NDArray[Any]] | None = None,
) -> list[tuple[str | None, float]]:
    """(cluster id or None, strength) for each row of ``new``.

    ``voting_space`` is (new, members) as the neighbours should be found (rows as in ``new``
    and ``members``); the radius check always uses ``new`` against the centroids.
    """
    if new.shape[0] == 0:
        return []
    if members.shape[0] == 0:
        return [(None, 0.0)] * int(new.shape[0])
    labels = np.asarray(member_clusters)
    k = min(k, int(members.shape[0]))
    query, pool = voting_space or (new, members)
    out: list[tuple[str | None, float]] = []
    for start in range(0, new.shape[0], _ROWS):
        block = new[start : start + _ROWS]
        sims = query[start : start + _ROWS] @ pool.T
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for row, idx in enumerate(nearest):
            weights = np.clip(sims[row, idx], 0.0, None)
            votes: dict[str, float] = {}
            for label, weight in zip(labels[idx], weights, strict=True):
                votes[str(label)] = votes.get(str(label), 0.0) + float(weight)
            total = sum(votes.values())
            winner = min(votes, key=lambda c: (-votes[c], c))
            share = votes[winner] / total if total > 0 else 0.0
            inside = float(block[row] @ centroids[winner]) >= radii.get(winner, 1.0) - RADIUS_MARGIN
            out.append((winner, round(share, 4)) if share >= min_share and inside else (None, 0.0))
    return out
