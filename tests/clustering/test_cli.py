"""`flywheel cluster`, `flywheel clusters` and `flywheel bench cluster` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.project import Project
from tests.helpers.traffic import WEEK1, traffic, write_jsonl

runner = CliRunner()
THREE = ["tool_timeout", "answered_from_memory", "needless_clarification"]


def run_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cluster_and_clusters_print_the_documented_shape(project: Project, tmp_path: Path) -> None:
    records, _ = traffic(THREE, 8, WEEK1)
    run_json("ingest", str(write_jsonl(tmp_path / "t.jsonl", records)))
    run_json("signals")
    run = run_json("cluster", "--full")
    assert run["kind"] == "full"
    assert run["traces"] == 24
    report = run_json("clusters")
    assert set(report) == {"clusters", "noise_trace_ids"}
    assert report["clusters"], report
    keys = {"id", "label", "keywords", "size", "trace_ids", "exemplar_ids"}
    keys |= {"first_seen", "last_seen", "weekly_counts"}
    for cluster in report["clusters"]:
        assert keys <= set(cluster)
        assert cluster["size"] == len(cluster["trace_ids"])
        assert cluster["weekly_counts"] == {"2026-W45": cluster["size"]}
    listed = [t for c in report["clusters"] for t in c["trace_ids"]] + report["noise_trace_ids"]
    assert sorted(listed) == sorted(r["trace_id"] for r in records if "-ok-" not in r["trace_id"])
    again = run_json("cluster", "--since", "2026-11-01")
    assert again["kind"] == "incremental"
    assert again["traces"] == 0
    bad = runner.invoke(app, ["cluster", "--since", "last tuesday"])
    assert bad.exit_code == 1
    assert "YYYY-MM-DD" in bad.output


def _bench(tmp_path: Path, *options: str) -> dict[str, Any]:
    """`flywheel bench cluster --json` on 8 traces of each of three patterns."""
    records, labels = traffic(THREE, 8, WEEK1)
    path = write_jsonl(tmp_path / "t.jsonl", records)
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    labels_path = str(tmp_path / "labels.json")
    args = ["--traces", str(path), "--labels", labels_path, "--workdir", str(tmp_path)]
    report: dict[str, Any] = run_json("bench", "cluster", *args, *options)
    return report


def test_bench_cluster_reports_quality_and_baselines(project: Project, tmp_path: Path) -> None:
    report = _bench(tmp_path, "--assign", "5")
    assert report["true_modes"] == 3
    assert report["labelled_clustered"] == 24
    assert report["detection_recall"] == 1.0
    assert report["detection_precision"] == 1.0  # the healthy traces are not flagged
    for method in ("flywheel", "naive", "kmeans_true_k"):
        assert {"ari", "nmi", "noise_fraction", "clusters"} <= set(report[method])
    assert report["flywheel"]["ari"] > 0.9
    assert report["kmeans_true_k"]["clusters"] == 3
    speed = report["speed"]
    assert speed["assign_traces"] == 5
    assert speed["warm_full_run_s"] >= 0
    assert speed["rerun_identical"] is True
    assert {"embedding_s", "model_load_s", "clustering_s", "signatures_per_s"} <= set(speed)


def test_bench_cluster_without_baselines_scores_flywheel_alone(
    project: Project, tmp_path: Path
) -> None:
    report = _bench(tmp_path, "--no-baselines")
    assert report["flywheel"]["ari"] > 0.9
    assert report["naive"] is None
    assert report["kmeans_true_k"] is None
    assert report["ari_gain_vs_naive"] is None
