"""PCA and HDBSCAN of a population given as distinct rows with counts, at the cost of the rows.

hdbscan takes no sample weights, and clustering each of a million traces whose signatures are
a few hundred distinct ones repeats the same work; this module runs HDBSCAN's own steps
(mutual-reachability tree, condensed tree, excess-of-mass selection) on the distinct rows with
their weights, reusing hdbscan's tree builder, so that the result is the one the repeated
population would get (`flywheel.clustering._cluster.cluster_vectors`, `[clustering]
distinct_signatures`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Standard deviation of the tie-breaking jitter added to every coordinate (the per-trace
#: path's; the weighted path puts a row's copies that far apart).
JITTER = 1e-3


def weighted_pca(
    data: npt.NDArray[np.float64], weights: npt.NDArray[np.int64], dims: int
) -> npt.NDArray[np.float64] | None:
    """The PCA projection of ``data`` with row ``i`` counted ``weights[i]`` times.

    The centred rows scaled by the square root of their weight have the covariance of the
    repeated rows, so their SVD gives the same axes. Axes beyond the distinct rows' rank carry
    no variance: their coordinates are zero (the repeated rows' PCA puts them at rounding
    noise). None when PCA would not apply (no variance, or LAPACK did not converge).
    """
    from scipy import linalg
    from sklearn.utils.extmath import svd_flip

    w = weights.astype(np.float64)
    mean = (data * w[:, None]).sum(axis=0) / w.sum()
    centred = data - mean
    if float((centred**2 * w[:, None]).sum() / w.sum()) < 1e-12:
        return None
    # One BLAS thread: the matrix is small (distinct rows x dimensions), and on a busy
    # machine OpenBLAS's threads made this SVD 15 times slower (9 s instead of 0.6 s).
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    try:
        with threadpool_limits(limits=1, user_api="blas"):
            u, _, vt = linalg.svd(centred * np.sqrt(w)[:, None], full_matrices=False)
    except np.linalg.LinAlgError:
        return None
    _, vt = svd_flip(u, vt, u_based_decision=False)
    keep = min(dims, vt.shape[0])
    reduced = np.zeros((data.shape[0], dims))
    reduced[:, :keep] = centred @ vt[:keep].T
    return reduced


def weighted_hdbscan(
    data: npt.NDArray[np.float64],
    weights: npt.NDArray[np.int64],
    size: int,
    samples: int,
    *,
    single: bool = False,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """HDBSCAN of the population in which row ``i`` of ``data`` appears ``weights[i]`` times.

    The copies of a row lie `_copy_distance` apart (where the per-trace path's jitter puts
    them). A row's core distance is the distance at which its copies and its nearest rows,
    counted with their weights, reach ``samples`` neighbours. The minimum spanning tree of
    the repeated population (mutual reachability) is the tree of the distinct rows plus, in
    each row, its copies linked at its core distance (no edge out of a row is shorter), so
    only the distinct rows' tree is searched. Condensing it treats a row as a leaf of its
    weight whose copies all leave their cluster together, at the row's core distance or
    when the leaf splits off as too small, as they do in the repeated population's tree
    (`_condense`); the excess-of-mass selection and the labels follow HDBSCAN's rules. All of
    it costs per distinct row. Returns the label and membership strength of each row.
    """
    from hdbscan._hdbscan_linkage import mst_linkage_core_vector
    from hdbscan.dist_metrics import DistanceMetric

    rows = int(data.shape[0])
    n = int(weights.sum())
    samples = max(1, min(n - 1, samples))
    copy = _copy_distance(data.shape[1])
    core = np.maximum(_weighted_core(data, weights, samples, copy), copy)
    data = np.ascontiguousarray(data, dtype=np.float64)
    if rows > 1:
        tree = mst_linkage_core_vector(data, core, DistanceMetric.get_metric("euclidean"), 1.0)
        tree = tree[np.argsort(tree[:, 2], kind="stable")]
    else:
        tree = np.zeros((0, 3))
    condensed = _condense(tree, core, weights, size)
    return _select_clusters(condensed, rows, single)


#: A condensed-tree row: parent cluster, child (a row below ``rows``, else a cluster), the
#: lambda at which the child left or split off, and the child's weight.
_Condensed = list[tuple[int, int, float, int]]


def _condense(
    tree: npt.NDArray[np.float64],
    core: npt.NDArray[np.float64],
    weights: npt.NDArray[np.int64],
    size: int,
) -> _Condensed:
    """HDBSCAN's condensed tree of the weighted single-linkage tree (clusters numbered from
    ``rows``, the root first, children after parents)."""
    rows = int(weights.shape[0])
    parent = np.arange(2 * rows - 1)
    left = np.zeros(max(rows - 1, 0), dtype=np.int64)
    right = np.zeros(max(rows - 1, 0), dtype=np.int64)
    weight = np.concatenate([weights, np.zeros(max(rows - 1, 0), dtype=np.int64)])

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = int(parent[root])
        while parent[x] != root:
            parent[x], x = root, int(parent[x])
        return root

    for k, (a, b, _) in enumerate(tree):
        ra, rb = find(int(a)), find(int(b))
        left[k], right[k] = ra, rb
        node = rows + k
        parent[ra] = parent[rb] = node
        weight[node] = weight[ra] + weight[rb]
    lam = np.where(tree[:, 2] > 0, 1.0 / np.maximum(tree[:, 2], 1e-300), np.inf)
    own = 1.0 / core

    def leaves(node: int) -> list[int]:
        out, stack = [], [node]
        while stack:
            x = stack.pop()
            if x < rows:
                out.append(x)
            else:
                stack.extend((int(left[x - rows]), int(right[x - rows])))
        return out

    result: _Condensed = []
    top = 2 * rows - 2
    clusters = rows  # the root's number; the next cluster gets clusters + 1, ...
    stack = [(top, clusters)]
    while stack:
        node, cluster = stack.pop(0)
        if node < rows:  # a leaf the cluster continues into: its copies leave together
            result.append((cluster, node, float(own[node]), int(weight[node])))
            continue
        k = node - rows
        at = float(lam[k])
        pair = (int(left[k]), int(right[k]))
        big = [c for c in pair if weight[c] >= size]
        if len(big) == 2:
            for child in pair:
                clusters += 1
                result.append((cluster, clusters, at, int(weight[child])))
                stack.append((child, clusters))
            continue
        for child in pair:
            if weight[child] >= size:
                stack.append((child, cluster))
            else:
                result.extend((cluster, leaf, at, int(weights[leaf])) for leaf in leaves(child))
    return result


def _select_clusters(
    condensed: _Condensed, rows: int, single: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Excess-of-mass selection, labels and strengths over a weighted condensed tree, as
    HDBSCAN's ``get_clusters`` does on the repeated population's."""
    root = rows
    birth: dict[int, float] = {root: 0.0}
    stability: dict[int, float] = {root: 0.0}
    children: dict[int, list[int]] = {}
    up: dict[int, int] = {}
    death: dict[int, float] = {}
    for parent, child, at, _weight in condensed:
        if child >= rows:
            birth[child] = at
            stability.setdefault(child, 0.0)
            children.setdefault(parent, []).append(child)
            up[child] = parent
        death[parent] = max(death.get(parent, 0.0), at)
    for parent, _child, at, weight in condensed:
        stability[parent] = stability.get(parent, 0.0) + (at - birth[parent]) * weight
    order = sorted(stability, reverse=True)
    if not single:
        order = order[:-1]
    chosen = dict.fromkeys(order, True)
    for node in order:
        below = sum(stability[c] for c in children.get(node, []))
        if below > stability[node]:
            chosen[node] = False
            stability[node] = below
        else:
            stack = list(children.get(node, []))
            while stack:
                x = stack.pop()
                chosen[x] = False
                stack.extend(children.get(x, []))
    selected = sorted(c for c, keep in chosen.items() if keep)
    number = {c: i for i, c in enumerate(selected)}
    labels = np.full(rows, -1, dtype=np.int64)
    strengths = np.zeros(rows)
    for parent, child, at, _weight in condensed:
        if child >= rows:
            continue
        cluster = parent
        while cluster not in number and cluster in up:
            cluster = up[cluster]
        if cluster not in number:
            continue
        if cluster == root and at < death.get(root, 0.0):
            continue  # the single root cluster keeps only the points that stay to its end
        labels[child] = number[cluster]
        deepest = death.get(cluster, 0.0)
        strengths[child] = (
            1.0 if deepest == 0 or not np.isfinite(at) else min(at, deepest) / deepest
        )
    return labels, strengths


def _copy_distance(dims: int) -> float:
    """The typical distance between two jittered copies of one point (per-trace path)."""
    return float(JITTER * np.sqrt(2.0 * dims))


def _weighted_core(
    data: npt.NDArray[np.float64], weights: npt.NDArray[np.int64], samples: int, copy: float
) -> npt.NDArray[np.float64]:
    """Distance from each row to its ``samples``-th neighbour among the repeated rows."""
    from sklearn.neighbors import NearestNeighbors

    rows = int(data.shape[0])
    core = np.full(rows, copy)
    need = np.flatnonzero(weights - 1 < samples)
    if need.size == 0 or rows < 2:
        return core
    k = min(rows, samples + 1)
    distances, index = NearestNeighbors(n_neighbors=k).fit(data).kneighbors(data[need])
    for row, dist, near in zip(need, distances, index, strict=True):
        have = int(weights[row]) - 1
        for d, j in zip(dist, near, strict=True):
            if j == row:
                continue
            have += int(weights[j])
            if have >= samples:
                core[row] = max(float(d), copy if weights[row] > 1 else 0.0)
                break
        else:
            core[row] = float(dist[-1])
    return core
