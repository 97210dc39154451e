"""`flywheel bench triage`: the triage agent against labelled traces.

The traces go into a fresh store; failure signals are detected; then the failing traces are
grouped, by one of:

- ``clusters``: Flywheel's clustering (a full run), as in production;
- ``truth``: the true failure modes of labels.json (the classifier alone, without clustering
  errors);
- ``trace``: every labelled trace on its own (one-trace clusters; AgentRx-style per-trace
  root-cause attribution).

Metrics: cluster-level accuracy (the agent's root cause against the majority true root cause
of the cluster's labelled members), trace-level macro-F1 and Cohen's kappa (each labelled
member gets its cluster's root cause), a per-trace macro-F1 of the rules alone, and, for the
failure modes named as S1, whether any such cluster was rated below S2.

``labels`` is labels.json (``{trace_id: {failure_mode, root_cause}}``) or the AgentRx dataset
folder, whose categories map onto the taxonomy with
`flywheel.clustering.agentrx_labels` (the mapping is in the report).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import TraceRow
from triage import _store
from triage._agent import build_agent, triage_clusters
from triage._classify import RESIDUAL, classify_trace
from triage._evidence import gather_evidence
from triage._record import TriageRecord
from triage._taxonomy import Taxonomy, TriageConfig

Log = Callable[[str], None]
Grouping = Literal["clusters", "truth", "trace"]


def load_labels(path: Path) -> tuple[dict[str, dict[str, str]], dict[str, str] | None]:
    """labels.json, or the AgentRx dataset folder (with the category mapping used)."""
    if path.is_dir():
        from flywheel.clustering._bench import AGENTRX_ROOT_CAUSES, agentrx_labels

        return agentrx_labels(path), dict(AGENTRX_ROOT_CAUSES)
    try:
        labels: dict[str, dict[str, str]] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read labels {path}: {exc}") from None
    if not isinstance(labels, dict) or not all(
        isinstance(v, dict) and "root_cause" in v for v in labels.values()
    ):
        raise UserError(f"{path}: expected {{trace_id: {{failure_mode, root_cause}}}}")
    return labels, None


def run_triage_benchmark(
    traces: Sequence[Path],
    labels_path: Path,
    *,
    grouping: Grouping = "clusters",
    include_labelled: bool = False,
    s1_modes: Sequence[str] = (),
    config: TriageConfig | None = None,
    workdir: Path | None = None,
    log: Log | None = None,
) -> dict[str, Any]:
    log = log or (lambda _m: None)
    labels, mapping = load_labels(Path(labels_path))
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        try:
            report = _bench(
                store, traces, labels, grouping, include_labelled, s1_modes, config, log
            )
        finally:
            store.close()
    if mapping is not None:
        report["label_mapping"] = mapping
    return report


def _bench(
    store: Store,
    traces: Sequence[Path],
    labels: dict[str, dict[str, str]],
    grouping: Grouping,
    include_labelled: bool,
    s1_modes: Sequence[str],
    config: TriageConfig | None,
    log: Log,
) -> dict[str, Any]:
    from flywheel.config import SignalsConfig
    from flywheel.ingest import ingest_paths
    from flywheel.signals import detect_failures

    began = time.perf_counter()
    counts = ingest_paths(store, [Path(p) for p in traces])
    detect_failures(store, SignalsConfig())
    log(f"ingested {counts.stored} traces in {time.perf_counter() - began:.1f}s")
    with store.engine.connect() as conn:
        rows = conn.execute(select(TraceRow.id, TraceRow.trace_id, TraceRow.failing)).all()
    pk_of = {row.trace_id: row.id for row in rows}
    labelled = [tid for tid in labels if tid in pk_of]
    if not labelled:
        raise UserError("no labelled trace id appears in the traces; check labels.json keys")
    population = {
        row.id for row in rows if row.failing or (include_labelled and row.trace_id in labels)
    }
    began = time.perf_counter()
    if grouping == "clusters":
        records = _by_clusters(store, population, config, log)
    else:
        records = _by_groups(store, labels, labelled, pk_of, population, grouping, config)
    seconds = time.perf_counter() - began
    log(f"triaged {len(records)} groups in {seconds:.1f}s")
    report = score(records, labels, s1_modes, config)
    report.update(
        {
            "grouping": grouping,
            "traces": counts.stored,
            "labelled": len(labelled),
            "population": len(population),
            "detection_recall": round(
                sum(1 for tid in labelled if pk_of[tid] in population) / len(labelled), 4
            ),
            "triage_seconds": round(seconds, 2),
        }
    )
    report["rules_per_trace_macro_f1"] = _rules_per_trace(store, labels, labelled, pk_of)
    return report


def _by_clusters(
    store: Store, population: set[int], config: TriageConfig | None, log: Log
) -> list[tuple[TriageRecord, list[str]]]:
    from flywheel.clustering import run_clustering
    from flywheel.config import ClusteringConfig

    result = run_clustering(store, ClusteringConfig(), full=True)
    log(f"clustering: {result.clusters} clusters, {result.noise} noise")
    records = triage_clusters(store, config=config)
    members = {
        c.cluster_id: [m.trace.trace_id for m in c.members] for c in _store.active_clusters(store)
    }
    return [(record, members.get(record.cluster_id, [])) for record in records]


def _by_groups(
    store: Store,
    labels: dict[str, dict[str, str]],
    labelled: list[str],
    pk_of: dict[str, int],
    population: set[int],
    grouping: Grouping,
    config: TriageConfig | None,
) -> list[tuple[TriageRecord, list[str]]]:
    groups: defaultdict[str, list[str]] = defaultdict(list)
    for tid in labelled:
        if pk_of[tid] not in population:
            continue
        key = (
            labels[tid].get("failure_mode", labels[tid]["root_cause"])
            if grouping == "truth"
            else tid
        )
        groups[key].append(tid)
    agent = build_agent(store, config=config)
    out = []
    for key, tids in sorted(groups.items()):
        loaded = _store.load_members(store, [pk_of[t] for t in tids])
        record = agent.triage(f"G-{key}"[:64], list(loaded.values()))
        out.append((record, tids))
    return out


def score(
    records: Sequence[tuple[TriageRecord, list[str]]],
    labels: dict[str, dict[str, Any]],
    s1_modes: Sequence[str] = (),
    config: TriageConfig | None = None,
) -> dict[str, Any]:
    """Cluster and trace accuracy, trace macro-F1 and kappa, calibration (reliability table and
    ECE), fixable precision and recall, S1 check, and a row per cluster."""
    from sklearn.metrics import cohen_kappa_score, f1_score

    rows = []
    y_true: list[str] = []
    y_pred: list[str] = []
    correct = judged = 0
    s1_clusters: list[dict[str, Any]] = []
    confidence_pairs: list[tuple[float, bool]] = []
    fixable_pairs: list[tuple[bool, bool]] = []
    taxonomy = Taxonomy.from_config(config)
    for record, members in records:
        truth = [labels[t] for t in members if t in labels]
        row: dict[str, Any] = {
            "cluster_id": record.cluster_id,
            "size": len(members),
            "labelled": len(truth),
            "predicted": record.root_cause,
            "confidence": record.confidence,
            "severity": record.severity,
            "source": record.source,
            "failing_step": record.detail.get("failing_step", {}).get("summary"),
            "name": record.name,
            "fixable": record.fixable,
            "handoff_reason": record.handoff_reason,
            "needs_review": record.needs_review,
        }
        if truth:
            causes = Counter(t["root_cause"] for t in truth)
            modes = Counter(t.get("failure_mode", t["root_cause"]) for t in truth)
            majority, count = causes.most_common(1)[0]
            mode, _ = modes.most_common(1)[0]
            row.update(
                majority_root_cause=majority,
                majority_share=round(count / len(truth), 3),
                majority_mode=mode,
                correct=record.root_cause == majority,
            )
            judged += 1
            correct += record.root_cause == majority
            confidence_pairs.append((record.confidence, record.root_cause == majority))
            truly_fixable = _truly_fixable(truth, taxonomy)
            row["truly_fixable"] = truly_fixable
            fixable_pairs.append((record.fixable, truly_fixable))
            for item in truth:
                y_true.append(item["root_cause"])
                y_pred.append(record.root_cause)
            if mode in s1_modes:
                s1_clusters.append(
                    {"cluster_id": record.cluster_id, "mode": mode, "severity": record.severity}
                )
        rows.append(row)
    report: dict[str, Any] = {
        "clusters": len(records),
        "clusters_with_labels": judged,
        "cluster_accuracy": round(correct / judged, 4) if judged else None,
        "trace_accuracy": round(
            sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / len(y_true), 4
        )
        if y_true
        else None,
        "trace_macro_f1": round(
            float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 4
        )
        if y_true
        else None,
        "trace_kappa": round(float(cohen_kappa_score(y_true, y_pred)), 4)
        if len(set(y_true) | set(y_pred)) > 1
        else None,
        "labelled_traces_triaged": len(y_true),
        "s1_clusters": s1_clusters,
        "s1_rated_below_s2": sum(1 for c in s1_clusters if c["severity"] in ("S3", "S4")),
        "calibration": reliability(confidence_pairs),
        "fixable": fixable_scores(fixable_pairs),
        "fixable_truth": "labels"
        if any("fixable" in labels[t] for _, members in records for t in members if t in labels)
        else "taxonomy (the labels carry no fixable: the true root cause's optimizer_fixable)",
        "needs_a_human": sum(1 for record, _ in records if record.needs_review),
        "per_cluster": rows,
    }
    return report


#: Confidence bins of the reliability table: [0, 0.2), [0.2, 0.4), ... [0.8, 1.0].
BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def reliability(pairs: Sequence[tuple[float, bool]]) -> dict[str, Any]:
    """The reliability table (confidence bin -> n, mean confidence, accuracy) and the expected
    calibration error: the n-weighted mean of |accuracy - mean confidence| over the bins
    (Guo et al. 2017, "On Calibration of Modern Neural Networks"), one cluster one count."""
    table = []
    ece = 0.0
    for low, high in pairwise(BINS):
        inside = [(c, ok) for c, ok in pairs if low <= c < high or (high == BINS[-1] and c == high)]
        if not inside:
            table.append({"bin": f"{low:.1f}-{high:.1f}", "n": 0})
            continue
        confidence = sum(c for c, _ in inside) / len(inside)
        accuracy = sum(ok for _, ok in inside) / len(inside)
        ece += len(inside) / len(pairs) * abs(accuracy - confidence)
        table.append(
            {
                "bin": f"{low:.1f}-{high:.1f}",
                "n": len(inside),
                "mean_confidence": round(confidence, 3),
                "accuracy": round(accuracy, 3),
            }
        )
    return {"bins": table, "ece": round(ece, 4) if pairs else None, "clusters": len(pairs)}


def fixable_scores(pairs: Sequence[tuple[bool, bool]]) -> dict[str, Any]:
    """Precision (a cluster called fixable really is) and recall (a fixable one is called so)."""
    called = [truth for said, truth in pairs if said]
    truly = [said for said, truth in pairs if truth]
    return {
        "called_fixable": len(called),
        "truly_fixable": len(truly),
        "precision": round(sum(called) / len(called), 4) if called else None,
        "recall": round(sum(truly) / len(truly), 4) if truly else None,
    }


def _truly_fixable(truth: Sequence[dict[str, Any]], taxonomy: Taxonomy) -> bool:
    """The majority of the members' ``fixable`` labels; without them, the true root cause's
    ``optimizer_fixable`` in the taxonomy."""
    votes = []
    for item in truth:
        if isinstance(item.get("fixable"), bool):
            votes.append(bool(item["fixable"]))
        else:
            cause = taxonomy.root_causes.get(str(item["root_cause"]))
            votes.append(bool(cause and cause.optimizer_fixable))
    return sum(votes) * 2 > len(votes)


def _rules_per_trace(
    store: Store, labels: dict[str, dict[str, str]], labelled: list[str], pk_of: dict[str, int]
) -> float | None:
    """Macro-F1 of the rules on each labelled trace alone (no clustering, no voting)."""
    from sklearn.metrics import f1_score

    baseline = _store.healthy_baseline(store)
    loaded = _store.load_members(store, [pk_of[t] for t in labelled])
    y_true, y_pred = [], []
    for member in loaded.values():
        evidence = gather_evidence("t", [member], baseline)
        facts = next(iter(evidence.trace_facts.values()), [])
        y_true.append(labels[member.trace.trace_id]["root_cause"])
        y_pred.append(classify_trace(facts) or RESIDUAL)
    if not y_true:
        return None
    return round(float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 4)
