"""Density clustering: PCA, then HDBSCAN with parameters chosen per run, then soft assignment.

The minimum cluster size is chosen from a small grid by HDBSCAN's relative validity (a fast
DBCV estimate), on a fixed subsample when the run is large; minimum samples stays small (5),
because a large one turns the thin edges of real patterns into noise. Noise is kept: a noise
point joins a cluster as a *soft* member when its nearest clustered neighbours give that
cluster at least ``soft_threshold`` of their (similarity-weighted) vote and it lies within the
cluster's radius, the same rule as incremental assignment; the rest stay noise.

Structural features (the failure's symptoms) are appended after the PCA, so that rare but crisp
facts are not projected away. The embedding still separates traces by topic: the same failure
(an answer citing the wrong note) on renewals and on tickets forms two dense groups. So clusters
in which a clear majority (``merge_share``) shows the same non-empty set of features are one
pattern and are merged; clusters without a dominant symptom keep the embedding's split. The
reverse happens too: answers that read alike but failed differently (an e-mail greeting an
invented recipient, the same e-mail scored low by a miscalibrated judge) can share one dense
group. Before the merge, a cluster holding two or more groups of at least the minimum cluster
size whose symptoms are their own (not shared with the rest of the cluster) is split along
them, so no split creates a cluster HDBSCAN would not have allowed (demo world, 5,000 traces,
three seeds: ARI +0.01 on average); overlapping symptom sets are one failure's variants.

Everything is deterministic: inputs are sorted by the caller, PCA uses the full SVD and the
subsample a fixed seed.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from flywheel.clustering._assign import assign_vectors, cluster_radius, unit_centroid
from flywheel.clustering._weighted import JITTER, weighted_hdbscan, weighted_pca
from flywheel.config import ClusteringConfig

#: Largest sample on which the parameter grid is scored.
SELECTION_SAMPLE = 2500
#: Minimum samples when not configured (see the module docstring).
MIN_SAMPLES = 5
#: A feature set splits off a cluster only when members outside it show its symptoms at most
#: this many times per member inside it (`split_by_features`).
EXCLUSIVE_SLACK = 0.1
#: Above this many distinct rows, the weighted path's exact minimum spanning tree (Prim's,
#: quadratic in the rows: 1.9 s at 10,000 rows of 20 dimensions here, against 6.0 s for
#: hdbscan's Boruvka) would cost more than clustering every trace: the traces are clustered.
DISTINCT_LIMIT = 30_000


@dataclass
class Clustering:
    """Per point: cluster number (-1 noise), membership strength, and whether it is soft."""

    labels: npt.NDArray[np.int64]
    strengths: npt.NDArray[np.float64]
    soft: npt.NDArray[np.bool_]
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    @property
    def n_clusters(self) -> int:
        return len({int(x) for x in self.labels if x >= 0})


def all_noise(n: int, message: str) -> Clustering:
    return Clustering(
        labels=np.full(n, -1, dtype=np.int64),
        strengths=np.zeros(n),
        soft=np.zeros(n, dtype=bool),
        message=message,
    )


def reduce(
    vectors: npt.NDArray[np.float32],
    dims: int,
    weights: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.float64]:
    """PCA to ``dims`` dimensions (deterministic), rows re-normalised; no-op when not smaller.

    With ``weights``, row ``i`` stands for ``weights[i]`` identical rows: the projection is the
    one the PCA of the repeated rows would find (the same axes, signs fixed the same way).
    """
    data = vectors.astype(np.float64)
    rows = data.shape[0] if weights is None else int(weights.sum())
    if dims <= 0 or data.shape[1] <= dims or rows <= dims + 1:
        return data
    data = np.nan_to_num(data)
    if weights is None:
        if float(data.var(axis=0).sum()) < 1e-12:  # one point repeated: no direction
            return data
        from sklearn.decomposition import PCA

        try:
            reduced = PCA(n_components=dims, svd_solver="full").fit_transform(data)
        except np.linalg.LinAlgError:  # LAPACK did not converge: cluster the unreduced vectors
            return data
    else:
        reduced_or_none = weighted_pca(data, weights, dims)
        if reduced_or_none is None:
            return data
        reduced = reduced_or_none
    norms = np.linalg.norm(reduced, axis=1, keepdims=True)
    return np.asarray(reduced / np.where(norms == 0, 1.0, norms))


def with_features(
    vectors: npt.NDArray[Any], features: Sequence[Sequence[str]] | None, weight: float
) -> npt.NDArray[np.float64]:
    """Unit vectors extended by the weighted one-hot of each row's structural features."""
    vectors = vectors.astype(np.float64)
    if not features or weight <= 0 or vectors.shape[0] == 0:
        return vectors
    vocabulary = {name: i for i, name in enumerate(sorted({f for row in features for f in row}))}
    if not vocabulary:
        return vectors
    onehot = np.zeros((vectors.shape[0], len(vocabulary)))
    for row, names in enumerate(features):
        for name in names:
            onehot[row, vocabulary[name]] = 1.0
    return append_weighted(vectors, onehot, weight)


def append_weighted(
    vectors: npt.NDArray[np.float64], extra: npt.NDArray[np.float64], weight: float
) -> npt.NDArray[np.float64]:
    """Rows of ``vectors`` followed by their row of ``extra`` scaled to length ``weight``
    (rows of zeros stay zero), re-normalised to unit length."""
    norms = np.linalg.norm(extra, axis=1, keepdims=True)
    joined = np.hstack([vectors, extra / np.where(norms == 0, 1.0, norms) * weight])
    result: npt.NDArray[np.float64] = joined / np.linalg.norm(joined, axis=1, keepdims=True)
    return result


def cluster_vectors(
    vectors: npt.NDArray[np.float32],
    config: ClusteringConfig,
    features: Sequence[Sequence[str]] | None = None,
    inverse: npt.NDArray[np.intp] | None = None,
) -> Clustering:
    """Cluster unit vectors (one row per trace, with optional structural features).

    With ``inverse``, the rows are the *distinct* (vector, features) pairs of a population of
    ``len(inverse)`` traces, trace ``t`` being row ``inverse[t]``: the result is per distinct
    row, the clustering that the repeated rows would get (see `weighted_hdbscan`), and its
    cost grows with the distinct rows, not the traces.
    """
    if inverse is not None and (
        vectors.shape[0] > DISTINCT_LIMIT or not config.distinct_signatures
    ):
        return _per_trace(vectors, config, features, inverse)
    weights = None if inverse is None else np.bincount(inverse, minlength=vectors.shape[0])
    n = int(vectors.shape[0]) if inverse is None else int(inverse.shape[0])
    rows = int(vectors.shape[0])
    smallest = config.min_cluster_size or config.min_cluster_floor
    if n < max(2 * smallest, config.min_cluster_floor + 1):
        return all_noise(
            rows,
            f"only {n} failing trace(s): at least {max(2 * smallest, config.min_cluster_floor + 1)}"
            " are needed to find patterns (clustering.min_cluster_floor / min_cluster_size); "
            "every trace is listed as noise",
        )
    data = with_features(
        reduce(vectors, config.reduce_dims, weights), features, config.feature_weight
    )
    grid = _grid(n, config)
    if inverse is None:
        # Identical signatures give identical points, which make HDBSCAN's tree search crawl;
        # a fixed, tiny jitter (far below any real distance) breaks the ties deterministically.
        data = data + np.random.default_rng(0).normal(0.0, JITTER, size=data.shape)
        if len(grid) > 1:
            size, samples, scores = _select(data, grid, config)
        else:
            (size, samples), scores = grid[0], {}
        clusterer = _hdbscan(size, samples).fit(data)
        if np.max(clusterer.labels_) < 0:
            # HDBSCAN never selects the root of its tree, so traces that all failed the same
            # way (one pattern, no second to split from) came out as noise: allow the one.
            clusterer = _hdbscan(size, samples, allow_single_cluster=True).fit(data)
        labels = np.asarray(clusterer.labels_, dtype=np.int64)
        strengths = np.asarray(clusterer.probabilities_, dtype=np.float64)
    else:
        assert weights is not None
        if len(grid) > 1:
            size, samples, scores = _select(
                _jittered_sample(data, inverse), grid, config, population=n
            )
        else:
            (size, samples), scores = grid[0], {}
        labels, strengths = weighted_hdbscan(data, weights, size, samples)
        if labels.max(initial=-1) < 0:
            labels, strengths = weighted_hdbscan(data, weights, size, samples, single=True)
    soft = np.zeros(rows, dtype=bool)
    counts = np.ones(rows, dtype=np.int64) if weights is None else weights
    params: dict[str, Any] = {
        "min_cluster_size": size,
        "min_samples": samples,
        "reduce_dims": int(data.shape[1]),
        "grid_validity": scores,
        "hard_noise": int(counts[labels < 0].sum()),
    }
    if inverse is not None:
        params["distinct_points"] = rows
    if labels.max(initial=-1) < 0:
        return Clustering(
            labels,
            strengths,
            soft,
            params,
            f"no dense pattern among {n} failing traces; every trace is listed as noise",
        )
    noise = np.flatnonzero(labels < 0)
    if noise.size:
        _soft_assign(data, labels, strengths, soft, noise, config.soft_threshold, weights)
    params["soft_assigned"] = int(counts[soft].sum())
    if features and config.merge_share is not None:
        labels, params["split"] = split_by_features(labels, features, size, weights)
        labels, params["merged"] = merge_by_features(labels, features, config.merge_share, weights)
    return Clustering(labels, strengths, soft, params)


def _per_trace(
    vectors: npt.NDArray[np.float32],
    config: ClusteringConfig,
    features: Sequence[Sequence[str]] | None,
    inverse: npt.NDArray[np.intp],
) -> Clustering:
    """The per-trace path (``distinct_signatures = false``, or few repeats), reported per
    distinct row (the row's first trace; a row's copies practically always agree)."""
    rows = int(vectors.shape[0])
    result = cluster_vectors(
        vectors[inverse], config, None if features is None else [features[i] for i in inverse]
    )
    first = np.full(rows, -1, dtype=np.intp)
    first[inverse[::-1]] = np.arange(inverse.shape[0] - 1, -1, -1)
    params = {**result.params, "distinct_points": rows, "per_trace": True}
    return Clustering(
        result.labels[first], result.strengths[first], result.soft[first], params, result.message
    )


def _jittered_sample(
    data: npt.NDArray[np.float64], inverse: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """The rows `_select` samples from the repeated, jittered population, bit for bit.

    The jitter of the whole population is drawn in blocks (the same stream as one draw) and
    only the sampled rows are kept, so memory stays at one block.
    """
    n = int(inverse.shape[0])
    picked = _sample_rows(n)
    rng = np.random.default_rng(0)
    out = data[inverse[picked]].copy()
    block = 65536
    position = 0
    for start in range(0, n, block):
        stop = min(n, start + block)
        noise = rng.normal(0.0, JITTER, size=(stop - start, data.shape[1]))
        end = int(np.searchsorted(picked, stop))
        out[position:end] += noise[picked[position:end] - start]
        position = end
    return out


def split_by_features(
    labels: npt.NDArray[np.int64],
    features: Sequence[Sequence[str]],
    min_size: int,
    weights: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.int64], int]:
    """Split a cluster along its members' features when it holds two groups of ``min_size``
    that failed *differently*.

    A non-empty feature set shared by at least ``min_size`` members is a group of its own
    when its symptoms are its own in the cluster: no more than `EXCLUSIVE_SLACK` as many
    members outside it show any of them. One failure often shows overlapping symptom sets
    (a run-out CI queue is a tool timeout, an outage, then a retry loop, in varying
    combinations), and splitting along those cut one failure into many clusters (three
    blind-written worlds: ARI 0.29/0.28/0.12 with every set split off, 0.51/0.46/0.21
    without); two failures that read alike (an invented recipient, a miscalibrated judge)
    show disjoint symptoms. The groups get new numbers after the last one; the other members
    keep the cluster's number, together with the largest group when they are fewer than
    ``min_size``. Returns the labels and how many clusters were split off.
    """
    result = labels.copy()
    fresh = int(labels.max()) + 1
    for cluster in sorted({int(x) for x in labels if x >= 0}):
        rows = np.flatnonzero(labels == cluster)
        profiles = [tuple(sorted(features[int(i)])) for i in rows]
        counts: Counter[tuple[str, ...]] = Counter()
        holders: Counter[str] = Counter()
        for i, profile in zip(rows, profiles, strict=True):
            weight = 1 if weights is None else int(weights[i])
            counts[profile] += weight
            for name in profile:
                holders[name] += weight
        crisp = [
            p
            for p, c in counts.most_common()
            if p and c >= min_size and all(holders[n] - c <= EXCLUSIVE_SLACK * c for n in p)
        ]
        rest = sum(counts.values()) - sum(counts[p] for p in crisp)
        if len(crisp) + (rest >= min_size) < 2:
            continue
        for profile in crisp if rest >= min_size else crisp[1:]:
            result[[i for i, p in zip(rows, profiles, strict=True) if p == profile]] = fresh
            fresh += 1
    return result, fresh - int(labels.max()) - 1


def merge_by_features(
    labels: npt.NDArray[np.int64],
    features: Sequence[Sequence[str]],
    share: float,
    weights: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.int64], int]:
    """Clusters whose members mostly (``share``) have the same non-empty features become one.

    Returns the new labels (the clusters left renumbered 0.. in their old order, noise -1) and
    how many clusters were merged into another. With ``weights``, row ``i`` counts as
    ``weights[i]`` members.
    """
    dominant: dict[int, tuple[str, ...]] = {}
    for cluster in sorted({int(x) for x in labels if x >= 0}):
        rows = np.flatnonzero(labels == cluster)
        profiles: Counter[tuple[str, ...]] = Counter()
        for i in rows:
            profiles[tuple(sorted(features[int(i)]))] += 1 if weights is None else int(weights[i])
        profile, count = profiles.most_common(1)[0]
        if profile and count >= share * sum(profiles.values()):
            dominant[cluster] = profile
    target: dict[tuple[str, ...], int] = {}
    renamed = {c: target.setdefault(p, c) for c, p in dominant.items()}
    merged = labels.copy()
    for cluster, into in renamed.items():
        merged[labels == cluster] = into
    numbers = {c: n for n, c in enumerate(sorted({int(x) for x in merged if x >= 0}))}
    result = np.asarray([numbers.get(int(x), -1) for x in merged], dtype=np.int64)
    return result, sum(1 for c, into in renamed.items() if c != into)


def _soft_assign(
    data: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    strengths: npt.NDArray[np.float64],
    soft: npt.NDArray[np.bool_],
    noise: npt.NDArray[np.intp],
    threshold: float,
    weights: npt.NDArray[np.int64] | None = None,
) -> None:
    """Noise points join the cluster their nearest clustered neighbours vote for, if strong.

    With ``weights`` (row ``i`` stands for ``weights[i]`` traces), centroids, radii and the
    ``k`` nearest voters count the traces, as `assign_vectors` would on the repeated rows.
    """
    clustered = np.flatnonzero(labels >= 0)
    points = data.astype(np.float32)
    names = [str(int(x)) for x in labels[clustered]]
    centroids, radii = {}, {}
    for label in sorted(set(names)):
        rows = clustered[labels[clustered] == int(label)]
        members = points[rows]
        if weights is None:
            centroids[label] = unit_centroid(members)
            radii[label] = cluster_radius(members, centroids[label])
        else:
            mean = np.average(members.astype(np.float64), axis=0, weights=weights[rows])
            centroids[label] = (mean / (float(np.linalg.norm(mean)) or 1.0)).astype(np.float32)
            sims = np.repeat(members @ centroids[label], weights[rows])
            radii[label] = float(np.percentile(sims, 5))
    if weights is None:
        votes = assign_vectors(
            points[noise], points[clustered], names, centroids, radii, min_share=threshold
        )
    else:
        votes = _weighted_votes(
            points[noise], points[clustered], weights[clustered], names, centroids, radii, threshold
        )
    for i, (winner, share) in zip(noise, votes, strict=True):
        if winner is not None:
            labels[i] = int(winner)
            strengths[i] = share
            soft[i] = True


def _weighted_votes(
    new: npt.NDArray[np.float32],
    members: npt.NDArray[np.float32],
    counts: npt.NDArray[np.int64],
    names: Sequence[str],
    centroids: dict[str, npt.NDArray[np.float32]],
    radii: dict[str, float],
    threshold: float,
    k: int = 10,
) -> list[tuple[str | None, float]]:
    """`assign_vectors` (its k-nearest vote, share and radius rules) with member row ``j``
    standing for ``counts[j]`` traces: the nearest rows vote with as many traces as still
    fit in the ``k``."""
    from flywheel.clustering._assign import RADIUS_MARGIN

    k = min(k, int(counts.sum()))
    out: list[tuple[str | None, float]] = []
    for vector in new:
        sims = members @ vector
        order = np.argsort(-sims, kind="stable")
        votes: dict[str, float] = {}
        left = k
        for j in order:
            take = min(left, int(counts[j]))
            votes[names[j]] = votes.get(names[j], 0.0) + take * max(float(sims[j]), 0.0)
            left -= take
            if left == 0:
                break
        total = sum(votes.values())
        winner = min(votes, key=lambda c: (-votes[c], c))
        share = votes[winner] / total if total > 0 else 0.0
        inside = float(vector @ centroids[winner]) >= radii.get(winner, 1.0) - RADIUS_MARGIN
        out.append((winner, round(share, 4)) if share >= threshold and inside else (None, 0.0))
    return out


def _grid(n: int, config: ClusteringConfig) -> list[tuple[int, int]]:
    if config.min_cluster_size is not None:
        sizes = [config.min_cluster_size]
    else:
        sizes = sorted({max(config.min_cluster_floor, round(f * n)) for f in config.size_grid})
        sizes = [s for s in sizes if 2 * s <= n] or [config.min_cluster_floor]
    return [(size, config.min_samples or min(size, MIN_SAMPLES)) for size in sizes]


def _hdbscan(size: int, samples: int, **extra: Any) -> Any:
    import hdbscan

    return hdbscan.HDBSCAN(
        min_cluster_size=size,
        min_samples=samples,
        metric="euclidean",
        cluster_selection_method="eom",
        core_dist_n_jobs=1,
        **extra,
    )


def _sample_rows(n: int) -> npt.NDArray[np.intp]:
    """The rows on which the parameter grid is scored (all up to `SELECTION_SAMPLE`)."""
    if n <= SELECTION_SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, SELECTION_SAMPLE, replace=False))


def _select(
    data: npt.NDArray[np.float64],
    grid: list[tuple[int, int]],
    config: ClusteringConfig,
    population: int | None = None,
) -> tuple[int, int, dict[str, float]]:
    """The grid point with the best relative validity (ties: the larger size), on a sample.

    ``population``: ``data`` is already `_sample_rows` of that many rows.
    """
    n = data.shape[0] if population is None else population
    sample = data if population is not None else data[_sample_rows(n)]
    scale = 1.0 if n <= SELECTION_SAMPLE else SELECTION_SAMPLE / n
    scores: dict[str, float] = {}
    best: tuple[float, int, int] | None = None
    for size, samples in grid:
        small_size = max(config.min_cluster_floor, round(size * scale))
        small_samples = max(1, min(samples, small_size))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = _hdbscan(small_size, small_samples, gen_min_span_tree=True).fit(sample)
            validity = float(fitted.relative_validity_) if fitted.labels_.max() >= 0 else -1.0
        if not np.isfinite(validity):
            validity = -1.0
        scores[f"{size}/{samples}"] = round(validity, 4)
        key = (validity, size, samples)
        if best is None or (key[0], key[1]) > (best[0], best[1]):
            best = key
    assert best is not None
    return best[1], best[2], scores
