"""`flywheel triage`, `triage label`, `triage calibrate` and `bench triage` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.project import Project
from tests.helpers.triage import add_cluster, healthy, ingest, kind_traces

runner = CliRunner()

KINDS = ("tool_args", "timeout", "stale", "judge", "direct")


def run_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def seed(project: Project, tmp_path: Path) -> None:
    store = project.open_store()
    try:
        records = healthy(40)
        for kind in KINDS:
            records += kind_traces(kind, 6)
        ingest(store, tmp_path, records)
        for n, kind in enumerate(KINDS, start=1):
            add_cluster(store, f"C-{n:04d}", [r["trace_id"] for r in kind_traces(kind, 6)])
    finally:
        store.close()


def test_triage_prints_one_record_per_cluster(project: Project, tmp_path: Path) -> None:
    seed(project, tmp_path)
    out = run_json("triage")
    records = out["clusters"]

    assert len(records) == len(KINDS)
    assert out["needs_a_human"] == []
    for record in records:
        assert {
            "cluster_id",
            "root_cause",
            "component",
            "severity",
            "priority",
            "fixable",
            "confidence",
            "rationale",
            "evidence",
            "source",
            "name",
            "keywords",
            "handoff_reason",
            "review_reasons",
        } <= set(record)
        assert all({"trace_id", "step_id", "why"} <= set(e) for e in record["evidence"])
    by_id = {r["cluster_id"]: r for r in records}
    assert by_id["C-0001"]["root_cause"] == "tool_arguments"
    assert by_id["C-0001"]["fixable"]
    assert by_id["C-0003"]["root_cause"] == "data_freshness"
    assert not by_id["C-0003"]["fixable"]
    assert by_id["C-0003"]["handoff_reason"].startswith("stale data")
    assert [r["priority"] for r in records] == sorted(
        (r["priority"] for r in records), reverse=True
    )
    assert "C-0002" in runner.invoke(app, ["triage"]).stdout  # the table


def _reviewer(project: Project, monkeypatch: pytest.MonkeyPatch, name: str = "ana") -> None:
    """``name`` is a Flywheel reviewer and the commands run with their password."""
    from flywheel.users import Role, add_user, users_path

    add_user(users_path(project.data_dir), name, Role.reviewer, f"{name}-password")
    monkeypatch.setenv("FLYWHEEL_PASSWORD", f"{name}-password")


def test_labels_entered_through_the_cli_give_a_kappa(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(project, tmp_path)
    _reviewer(project, monkeypatch)
    run_json("triage")
    human = {
        "C-0001": ("tool_arguments", "S2"),
        "C-0002": ("latency_infra", "S2"),
        "C-0003": ("data_freshness", "S2"),
        "C-0004": ("evaluation_scorer", "S4"),
        "C-0005": ("retrieval_ranking", "S2"),
    }
    for cluster, (cause, severity) in human.items():
        saved = run_json(
            "triage",
            "label",
            cluster,
            "--root-cause",
            cause,
            "--severity",
            severity,
            "--reviewer",
            "ana",
        )
        assert (saved["root_cause"], saved["reviewer"]) == (cause, "ana")
        assert saved["record_id"] is not None

    report = run_json("triage", "calibrate")
    assert report["n"] == 5
    assert report["raw_agreement"] == 0.8
    assert 0 < report["kappa"] < 0.8  # chance-corrected: below raw agreement
    assert report["confusion"]["routing_decision"] == {"retrieval_ranking": 1}
    assert set(report["per_category"]["routing_decision"]) == {
        "precision",
        "recall",
        "support",
        "predicted",
    }
    assert report["severity"]["n"] == 5
    assert list(report["by_week"])
    assert list(report["by_source"]) == ["offline"]


def test_a_label_with_an_unknown_category_fails_with_the_valid_ones(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(project, tmp_path)
    _reviewer(project, monkeypatch)
    result = runner.invoke(
        app, ["triage", "label", "C-0001", "--root-cause", "vibes", "--reviewer", "ana"]
    )
    assert result.exit_code == 1
    assert "unknown root cause 'vibes'" in result.output
    assert "tool_arguments" in result.output


def test_a_label_needs_a_known_reviewer_who_signs_in(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe: `--reviewer` (or $USER) accepted any name, so anyone could relabel a cluster S1
    under a made-up reviewer's name."""
    from flywheel.users import Role, add_user, users_path

    seed(project, tmp_path)
    add_user(users_path(project.data_dir), "vic", Role.viewer, "vic-password")
    label = ["triage", "label", "C-0001", "--root-cause", "tool_arguments", "--severity", "S1"]
    monkeypatch.setenv("FLYWHEEL_PASSWORD", "whatever")
    nobody = runner.invoke(app, [*label, "--reviewer", "made-up"])
    assert nobody.exit_code == 1
    assert "no user 'made-up'" in nobody.output
    monkeypatch.setenv("FLYWHEEL_PASSWORD", "vic-password")
    viewer = runner.invoke(app, [*label, "--reviewer", "vic"])
    assert viewer.exit_code == 1
    assert "needs the reviewer role" in viewer.output
    _reviewer(project, monkeypatch)
    wrong = runner.invoke(app, [*label, "--reviewer", "ana"], env={"FLYWHEEL_PASSWORD": "nope"})
    assert wrong.exit_code == 1
    assert "wrong password for ana" in wrong.output
    assert run_json(*label, "--reviewer", "ana")["reviewer"] == "ana"


def test_a_label_never_takes_the_shells_user_for_a_reviewer(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe: without --reviewer, $USER (anyone's to set) was taken for the reviewer's name."""
    seed(project, tmp_path)
    _reviewer(project, monkeypatch)
    monkeypatch.setenv("USER", "ana")
    monkeypatch.delenv("FLYWHEEL_REVIEWER", raising=False)
    monkeypatch.delenv("FLYWHEEL_ACTOR", raising=False)
    label = ["triage", "label", "C-0001", "--root-cause", "tool_arguments", "--severity", "S1"]
    result = runner.invoke(app, label)
    assert result.exit_code == 1
    assert "needs --reviewer NAME" in result.output
    assert run_json(*label, "--actor", "ana")["reviewer"] == "ana"  # the datasets spelling


def test_a_label_waits_for_the_pipeline_lock(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe: a label was written beside a nightly run that held the run lock (its triage
    stage reads the labels for calibration)."""
    from flywheel.store import Store, run_lock
    from triage import human_labels

    seed(project, tmp_path)
    _reviewer(project, monkeypatch)
    label = ["triage", "label", "C-0001", "--root-cause", "tool_arguments", "--reviewer", "ana"]
    with Store.open(project.database_url) as other, run_lock(other, command="flywheel nightly"):
        held = runner.invoke(app, label)
    assert held.exit_code == 1, held.output
    assert "another run holds the pipeline lock" in held.output
    assert "`flywheel nightly`" in held.output
    with project.open_store() as store:
        assert human_labels(store) == []
    assert run_json(*label)["reviewer"] == "ana"


def test_bench_triage_on_a_small_labelled_file_reports_the_metrics(tmp_path: Path) -> None:
    records = healthy(40)
    labels: dict[str, dict[str, str]] = {}
    truth = {"tool_args": "tool_arguments", "timeout": "latency_infra", "stale": "data_freshness"}
    for kind, cause in truth.items():
        for record in kind_traces(kind, 6):
            records.append(record)
            labels[record["trace_id"]] = {"failure_mode": kind, "root_cause": cause}
    traces = tmp_path / "traces.jsonl"
    traces.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    (tmp_path / "labels.json").write_text(json.dumps(labels))

    report = run_json(
        "bench",
        "triage",
        "--traces",
        str(traces),
        "--labels",
        str(tmp_path / "labels.json"),
        "--grouping",
        "truth",
        "--s1-mode",
        "stale",
    )
    assert {
        "cluster_accuracy",
        "trace_macro_f1",
        "trace_kappa",
        "s1_rated_below_s2",
        "per_cluster",
    } <= set(report)
    assert report["cluster_accuracy"] == 1.0
    assert report["clusters"] == 3
    assert report["s1_clusters"][0]["mode"] == "stale"
    # Calibration and fixability, against the labels' own `fixable` where they carry it.
    assert report["trace_accuracy"] == 1.0
    calibration = report["calibration"]
    assert calibration["clusters"] == 3
    top = calibration["bins"][-1]
    assert (top["bin"], top["n"], top["accuracy"]) == ("0.8-1.0", 3, 1.0)
    assert calibration["ece"] == round(1.0 - top["mean_confidence"], 4)
    assert report["fixable"] == {
        "called_fixable": 1,
        "truly_fixable": 1,
        "precision": 1.0,
        "recall": 1.0,
    }
    assert report["fixable_truth"].startswith("taxonomy")


def test_reliability_table_and_ece_follow_their_definition() -> None:
    from triage._bench import fixable_scores, reliability

    pairs = [(0.9, True), (0.9, False), (0.5, True), (0.1, False), (1.0, True)]
    table = reliability(pairs)
    bins = {row["bin"]: row for row in table["bins"]}
    assert bins["0.8-1.0"] == {
        "bin": "0.8-1.0",
        "n": 3,
        "mean_confidence": 0.933,
        "accuracy": 0.667,
    }
    assert bins["0.2-0.4"] == {"bin": "0.2-0.4", "n": 0}
    # ECE = sum over bins of n/N * |accuracy - confidence|.
    expected = 3 / 5 * abs(2 / 3 - 2.8 / 3) + 1 / 5 * abs(1 - 0.5) + 1 / 5 * abs(0 - 0.1)
    assert table["ece"] == round(expected, 4)
    empty = reliability([])
    assert (empty["ece"], empty["clusters"]) == (None, 0)
    assert all(row["n"] == 0 for row in empty["bins"])
    scores = fixable_scores([(True, True), (True, False), (False, True), (False, False)])
    assert scores == {"called_fixable": 2, "truly_fixable": 2, "precision": 0.5, "recall": 0.5}
    assert fixable_scores([(False, False)])["precision"] is None
