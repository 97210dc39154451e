"""Failure clustering: failing traces grouped by how they failed, with stable ids over time.

- `build_signature` turns a trace and its failure signals into a short normalised text.
- `load_failing` reads the failing traces with their signatures and symptom features (kept in
  the store per trace, so a re-cluster does not rebuild them).
- `run_clustering` embeds the signatures (cached in the store), clusters them with HDBSCAN
  (parameters chosen per run; clusters that share a dominant symptom set merged), labels the
  clusters (c-TF-IDF keywords, medoid exemplars, an
  LLM name when configured), matches them to the previous run's clusters so a pattern keeps
  its id, and saves the membership; between full runs it assigns new traces incrementally.
- `cluster_report` is what `flywheel clusters` prints; `name_clusters` replaces keyword labels
  with readable names (triage's), keeping the keywords.
- `run_cluster_benchmark` scores all this against labelled traces, with two baselines.
"""

from flywheel.clustering._bench import agentrx_labels, run_cluster_benchmark, run_worlds_benchmark
from flywheel.clustering._cluster import Clustering, cluster_vectors
from flywheel.clustering._embed_cache import EmbedStats, embed_cached
from flywheel.clustering._failing import FailingTrace, load_failing
from flywheel.clustering._identity import IdentityResult, match_clusters
from flywheel.clustering._reports import (
    ClusterReport,
    ClusterSummary,
    cluster_report,
    cluster_runs,
    name_clusters,
)
from flywheel.clustering._run import RunResult, run_clustering
from flywheel.clustering._signature import PARTS, build_signature, normalise

__all__ = [
    "PARTS",
    "ClusterReport",
    "ClusterSummary",
    "Clustering",
    "EmbedStats",
    "FailingTrace",
    "IdentityResult",
    "RunResult",
    "agentrx_labels",
    "build_signature",
    "cluster_report",
    "cluster_runs",
    "cluster_vectors",
    "embed_cached",
    "load_failing",
    "match_clusters",
    "name_clusters",
    "normalise",
    "run_cluster_benchmark",
    "run_clustering",
    "run_worlds_benchmark",
]
