"""`flywheel bench cluster`: clustering quality against labelled traces, two baselines, speed.

Quality is measured on the labelled traces of the clustered population: adjusted Rand index
and NMI against ``failure_mode`` (noise points count as singletons), the noise fraction, the
number of clusters against the number of true modes (``over_split``: clusters / modes; one
failure should be one cluster), and detection recall (labelled traces
that the failure signals flagged) and precision (flagged traces that are labelled failing).
Two baselines run on the same traces: the *naive* recipe
(embed the user request alone, HDBSCAN with its defaults) and *KMeans* with the true number
of modes on Flywheel's signature embeddings.

Speed: the same population clustered cold (empty caches) and warm; a second warm run checks
that the clusters and their ids come out identical; with ``assign`` > 0, that many traces are
held out of the clusters and assigned incrementally, as new traffic is. ``baselines=False``
skips the baselines for speed runs at 100,000 traces.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select

from flywheel.bench._worlds import World
from flywheel.clustering._cluster import Clustering, cluster_vectors
from flywheel.clustering._embed_cache import embed_cached, make_embedder
from flywheel.clustering._failing import load_failing
from flywheel.clustering._reports import cluster_report
from flywheel.clustering._run import distinct_points, run_clustering
from flywheel.config import ClusteringConfig, SignalsConfig
from flywheel.embeddings import TextEmbedder
from flywheel.errors import UserError
from flywheel.llm import LLMClient
from flywheel.store import Store
from flywheel.store._tables import EmbeddingRow, TraceRow

Log = Callable[[str], None]

#: AgentRx root-cause categories (normalised) -> our root-cause taxonomy (DESIGN.md).
AGENTRX_ROOT_CAUSES: dict[str, str] = {
    "instruction plan adherence failure": "prompt_instruction",
    "invention of new information": "model_limitation",
    "invalid invocation": "tool_arguments",
    "misinterpretation of tool output": "model_limitation",
    "intent plan misalignment": "prompt_instruction",
    "underspecified user intent": "routing_decision",
    "intent not supported": "missing_capability",
    "guardrails triggered": "missing_capability",
    "system failure": "latency_infra",
    "inconclusive": "model_limitation",
}
_SYNONYMS = {"instruction adherence failure": "instruction plan adherence failure"}


def normalise_category(text: str) -> str:
    """'Instruction/Plan Adherence Failure' and 'Intent-Plan Misalignment' -> one spelling."""
    key = re.sub(r"[^a-z]+", " ", text.lower()).strip()
    return _SYNONYMS.get(key, key)


def agentrx_labels(dataset: Path) -> dict[str, dict[str, str]]:
    """labels.json for AgentRx: failure_mode = the root-cause failure's category, normalised.

    Keys are Flywheel trace ids: the Magentic-One file stem, and tau-bench's
    ``retail-task{task_id}-trial{trial}`` read from ``tau_retail/tau_dataset_failed.json``.
    """
    data = dataset / "data" if (dataset / "data").is_dir() else dataset
    truth = data / "ground_truth"
    if not truth.is_dir():
        raise UserError(f"{dataset}: no ground_truth folder; pass the AgentRx dataset folder")
    labels: dict[str, dict[str, str]] = {}
    tau_ids: dict[int, str] = {}
    tau_file = data / "tau_retail" / "tau_dataset_failed.json"
    if tau_file.is_file():
        for run in json.loads(tau_file.read_text()):
            trial = f"-trial{run['trial']}" if run.get("trial") is not None else ""
            tau_ids[int(run["task_id"])] = f"retail-task{run['task_id']}{trial}"
    for name, tau in (("magentic_one_ground_truth.json", False), ("tau_ground_truth.json", True)):
        path = truth / name
        if not path.is_file():
            continue
        for record in json.loads(path.read_text()):
            root = int(record["root_cause"]["failure_id"])
            category = next(
                (f["failure_category"] for f in record["failures"] if int(f["failure_id"]) == root),
                None,
            )
            if category is None:
                continue
            mode = normalise_category(category)
            key = tau_ids.get(int(record["trajectory_id"])) if tau else record["trajectory_id"]
            if key is None:
                continue
            labels[str(key)] = {
                "failure_mode": mode,
                "root_cause": AGENTRX_ROOT_CAUSES.get(mode, "model_limitation"),
            }
    return dict(sorted(labels.items()))


def _with_singletons(labels: npt.NDArray[np.int64]) -> list[int]:
    out, extra = [], int(labels.max(initial=-1)) + 1
    for label in labels:
        if label >= 0:
            out.append(int(label))
        else:
            out.append(extra)
            extra += 1
    return out


def score(
    predicted: npt.NDArray[np.int64], truth: Sequence[str], labelled: Sequence[int]
) -> dict[str, Any]:
    """ARI, NMI (noise as singletons), noise fraction and cluster count of one clustering."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    full = _with_singletons(predicted)
    pred = [full[i] for i in labelled]
    return {
        "ari": round(float(adjusted_rand_score(truth, pred)), 4),
        "nmi": round(float(normalized_mutual_info_score(truth, pred)), 4),
        "noise_fraction": round(float((predicted < 0).mean()) if len(predicted) else 0.0, 4),
        "clusters": len({int(x) for x in predicted if x >= 0}),
    }


def run_cluster_benchmark(
    traces: Sequence[Path],
    labels_path: Path,
    *,
    config: ClusteringConfig | None = None,
    include_labelled: bool = False,
    assign: int = 0,
    baselines: bool = True,
    workdir: Path | None = None,
    log: Log | None = None,
    llm: LLMClient | None = None,
) -> dict[str, Any]:
    """Ingest ``traces`` into a fresh store and score clustering against ``labels_path``.

    ``baselines=False`` skips the naive recipe and KMeans (HDBSCAN on raw 384-dimensional
    vectors takes hours at 100,000 traces): for speed runs. ``llm`` serves the LLM stages the
    config asks for (``embedding_model = "llm"``, the ``diagnosis`` part).
    """
    log = log or (lambda _m: None)
    config = config or ClusteringConfig()
    try:
        labels: dict[str, dict[str, str]] = json.loads(Path(labels_path).read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read labels {labels_path}: {exc}") from None
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        try:
            # loads on first use: timed cold
            embedder = make_embedder(config.embedding_model, llm)
            report = _bench(
                store, embedder, traces, labels, config, include_labelled, baselines, log, llm
            )
            report["speed"].update(_speed(store, embedder, config, assign, log, llm))
            return report
        finally:
            store.close()


def _bench(
    store: Store,
    embedder: TextEmbedder,
    traces: Sequence[Path],
    labels: dict[str, dict[str, str]],
    config: ClusteringConfig,
    include_labelled: bool,
    baselines: bool,
    log: Log,
    llm: LLMClient | None,
) -> dict[str, Any]:
    from flywheel.ingest import ingest_paths
    from flywheel.signals import detect_failures

    began = time.perf_counter()
    counts = ingest_paths(store, [Path(p) for p in traces])
    detect_failures(store, SignalsConfig())
    log(f"ingested {counts.stored} traces in {time.perf_counter() - began:.1f}s")
    with store.engine.connect() as conn:
        rows = conn.execute(select(TraceRow.id, TraceRow.trace_id, TraceRow.failing)).all()
    failing_ids = {row.trace_id for row in rows if row.failing}
    known = {row.trace_id for row in rows}
    labelled_known = [tid for tid in labels if tid in known]
    if not labelled_known:
        raise UserError("no labelled trace id appears in the traces; check labels.json keys")
    pks = [row.id for row in rows if row.failing or (include_labelled and row.trace_id in labels)]

    began = time.perf_counter()
    items = load_failing(store, config, pks=pks, llm=llm)
    t_signatures = time.perf_counter() - began
    began = time.perf_counter()
    embedder.load()
    t_load = time.perf_counter() - began
    began = time.perf_counter()
    firsts, inverse = distinct_points(items)
    distinct, _, stats = embed_cached(store, embedder, [items[i].signature for i in firsts])
    stats.texts = len(items)
    t_embed = time.perf_counter() - began + t_load
    began = time.perf_counter()
    clustered = cluster_vectors(
        distinct, config, [items[i].features for i in firsts], inverse=inverse
    )
    ours = Clustering(
        clustered.labels[inverse],
        clustered.strengths[inverse],
        clustered.soft[inverse],
        clustered.params,
        clustered.message,
    )
    t_cluster = time.perf_counter() - began
    log(f"flywheel: {ours.n_clusters} clusters in {t_cluster:.1f}s")

    index = [i for i, item in enumerate(items) if item.trace_id in labels]
    truth = [labels[items[i].trace_id]["failure_mode"] for i in index]
    modes = len(set(truth))

    flywheel = score(ours.labels, truth, index)
    flywheel["over_split"] = round(flywheel["clusters"] / modes, 2) if modes else None
    naive: dict[str, Any] | None = None
    kmeans: dict[str, Any] | None = None
    if baselines:
        requests, _, _ = embed_cached(store, embedder, [item.request for item in items])
        naive = score(_naive(requests), truth, index)
        kmeans = score(_kmeans(distinct[inverse], modes), truth, index)

    report: dict[str, Any] = {
        "traces": counts.stored,
        "clustered": len(items),
        "population": "failing + labelled" if include_labelled else "failing",
        "labelled": len(labelled_known),
        "labelled_clustered": len(index),
        "true_modes": modes,
        "detection_recall": round(
            sum(1 for tid in labelled_known if tid in failing_ids) / len(labelled_known), 4
        ),
        # Flagged traces that the labels call failing: a healthy trace flagged costs a triage.
        "detection_precision": (
            round(sum(1 for tid in failing_ids if tid in labels) / len(failing_ids), 4)
            if failing_ids
            else None
        ),
        "flywheel": {**flywheel, "params": ours.params},
        "naive": naive,
        "kmeans_true_k": kmeans,
        "message": ours.message,
        "signature_parts": config.signature_parts,
        "ari_gain_vs_naive": None if naive is None else round(flywheel["ari"] - naive["ari"], 4),
    }
    report["speed"] = {
        "signatures_s": round(t_signatures, 2),
        "embedding_s": round(t_embed, 2),
        "clustering_s": round(t_cluster, 2),
        "cold_total_s": round(t_signatures + t_embed + t_cluster, 2),
        "embedded": stats.embedded,
        "distinct_signatures": stats.distinct,
        "distinct_points": len(firsts),
        "model_load_s": round(t_load, 2),
        "signatures_per_s": round(stats.embedded / max(t_embed - t_load, 1e-9), 1),
    }
    return report


def _naive(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    import hdbscan

    if vectors.shape[0] < 6:
        return np.full(vectors.shape[0], -1, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(hdbscan.HDBSCAN().fit(vectors).labels_, dtype=np.int64)


def _kmeans(vectors: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    from sklearn.cluster import KMeans

    if vectors.shape[0] < k or k < 1:
        return np.full(vectors.shape[0], -1, dtype=np.int64)
    fitted = KMeans(n_clusters=k, n_init=10, random_state=0).fit(vectors)
    return np.asarray(fitted.labels_, dtype=np.int64)


def _speed(
    store: Store,
    embedder: TextEmbedder,
    config: ClusteringConfig,
    assign: int,
    log: Log,
    llm: LLMClient | None,
) -> dict[str, Any]:
    """Warm full run through the store (caches filled), a second one that must give the same
    clusters and ids, then an incremental run of ``assign``.

    The ``assign`` newest failing traces are taken out of the clusters and their cached
    signatures dropped, so that they are assigned the way new traffic is.
    """
    out: dict[str, Any] = {}
    began = time.perf_counter()
    warm = run_clustering(store, config, full=True, embedder=embedder, llm=llm)
    out["warm_full_run_s"] = round(time.perf_counter() - began, 2)
    out["warm_breakdown_s"] = warm.seconds
    first = cluster_report(store)
    again = run_clustering(store, config, full=True, embedder=embedder, llm=llm)
    out["rerun_identical"] = cluster_report(store) == first and not again.events["new"]
    if assign > 0:
        from sqlalchemy import delete

        from flywheel.store._tables import ClusterMemberRow, SignatureRow

        with store.engine.connect() as conn:
            held = [
                row[0]
                for row in conn.execute(
                    select(ClusterMemberRow.trace_pk)
                    .order_by(ClusterMemberRow.trace_pk.desc())
                    .limit(assign)
                )
            ]
        with store.engine.begin() as conn:
            for table in (ClusterMemberRow, SignatureRow):
                for start in range(0, len(held), 500):
                    conn.execute(delete(table).where(table.trace_pk.in_(held[start : start + 500])))
        began = time.perf_counter()
        result = run_clustering(store, config, embedder=embedder, llm=llm)
        out["assign_traces"] = result.traces
        out["assign_s"] = round(time.perf_counter() - began, 2)
        out["assign_breakdown_s"] = result.seconds
        out["assigned_fraction"] = round(result.soft / result.traces, 4) if result.traces else 0.0
    with store.engine.connect() as conn:
        out["cache_rows"] = len(conn.execute(select(EmbeddingRow.text_hash)).all())
    log(f"warm full run {out['warm_full_run_s']}s")
    return out


def run_worlds_benchmark(
    worlds: Sequence[World],
    *,
    n: int,
    seed: int,
    config: ClusteringConfig | None = None,
    baselines: bool = True,
    workdir: Path | None = None,
    log: Log | None = None,
) -> dict[str, Any]:
    """`run_cluster_benchmark` on every world, generated afresh, and the held-out summary.

    Every world but the demo is held out: the clustering rule was fixed before it was first
    measured, so its figures estimate what a new user's traces would get.
    """
    log = log or (lambda _m: None)
    rows: dict[str, dict[str, Any]] = {}
    for world in worlds:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            log(f"world {world.name}: generating {n} traces (seed {seed})")
            traces, labels = world.generate(Path(tmp) / "world", n=n, seed=seed)
            report = run_cluster_benchmark(
                traces, labels, config=config, baselines=baselines, workdir=workdir, log=log
            )
        ours = report["flywheel"]
        rows[world.name] = {
            "held_out": world.held_out,
            "ari": ours["ari"],
            "nmi": ours["nmi"],
            "noise_fraction": ours["noise_fraction"],
            "clusters": ours["clusters"],
            "true_modes": report["true_modes"],
            "over_split": ours["over_split"],
            "detection_recall": report["detection_recall"],
            "detection_precision": report["detection_precision"],
            "naive_ari": None if report["naive"] is None else report["naive"]["ari"],
            "kmeans_true_k_ari": (
                None if report["kmeans_true_k"] is None else report["kmeans_true_k"]["ari"]
            ),
            "cold_total_s": report["speed"]["cold_total_s"],
        }
        log(f"world {world.name}: ARI {ours['ari']}, {ours['clusters']} clusters")
    held = [row for row in rows.values() if row["held_out"]]
    summary = None
    if held:
        summary = {
            "worlds": len(held),
            "mean_ari": round(float(np.mean([r["ari"] for r in held])), 4),
            "worst_ari": min(r["ari"] for r in held),
            "mean_nmi": round(float(np.mean([r["nmi"] for r in held])), 4),
            "worst_noise_fraction": max(r["noise_fraction"] for r in held),
            "worst_over_split": max(r["over_split"] or 0.0 for r in held),
        }
    return {"n": n, "seed": seed, "worlds": rows, "held_out": summary}
