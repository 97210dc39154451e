"""Triage against a real store (SQLite, and PostgreSQL when available): records, labels,
memory, calibration, and the migration."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import MetaData, select

from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import Base
from tests.helpers.triage import add_cluster, healthy, ingest, kind_traces
from triage import (
    calibrate,
    calibration_pairs,
    label_cluster,
    stored_records,
    triage_clusters,
)
from triage._store import existing_evidence
from triage._tables import TriageLabelRow, TriageRecordRow

TABLES = ("triage_records", "triage_labels")


def seed(store: Store, tmp_path: Path) -> None:
    records = healthy(40)
    for kind in ("tool_args", "timeout", "stale", "judge"):
        records += kind_traces(kind, 6)
    ingest(store, tmp_path, records)
    for n, kind in enumerate(("tool_args", "timeout", "stale", "judge"), start=1):
        add_cluster(store, f"C-{n:04d}", [r["trace_id"] for r in kind_traces(kind, 6)])


def test_the_migration_creates_exactly_the_triage_models(store: Store) -> None:
    ours = MetaData(naming_convention=Base.metadata.naming_convention)
    for name in TABLES:
        Base.metadata.tables[name].to_metadata(ours)
    for name, table in Base.metadata.tables.items():  # the tables ours point at
        if name not in TABLES:
            table.to_metadata(ours)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, ours)
    mine = [d for d in diff if any(t in repr(d) for t in TABLES)]
    assert mine == []


def test_every_cluster_gets_a_stored_record_whose_evidence_exists(
    store: Store, tmp_path: Path
) -> None:
    seed(store, tmp_path)
    records = triage_clusters(store)

    assert [r.root_cause for r in sorted(records, key=lambda r: r.cluster_id)] == [
        "tool_arguments",
        "latency_infra",
        "data_freshness",
        "evaluation_scorer",
    ]
    assert all(r.record_id is not None and r.cluster_run_id is not None for r in records)
    assert records == sorted(records, key=lambda r: -r.priority)
    steps = existing_evidence(store, [e.trace_id for r in records for e in r.evidence])
    for record in records:
        assert record.evidence
        for ref in record.evidence:
            assert ref.trace_id in steps
            assert ref.step_id is None or ref.step_id in steps[ref.trace_id]
    with store.engine.connect() as conn:
        rows = conn.execute(select(TriageRecordRow)).all()
    assert {row.cluster_id for row in rows} == {"C-0001", "C-0002", "C-0003", "C-0004"}
    assert {row.source for row in rows} == {"offline"}
    assert [r.root_cause for r in stored_records(store)] == [r.root_cause for r in records]


def test_a_label_with_an_unknown_category_is_rejected_with_the_valid_ones(
    store: Store, tmp_path: Path
) -> None:
    seed(store, tmp_path)
    with pytest.raises(UserError) as caught:
        label_cluster(store, "C-0001", root_cause="bad_prompting", reviewer="ana")
    message = str(caught.value)
    assert "unknown root cause 'bad_prompting'" in message
    assert "prompt_instruction" in message
    assert "evaluation_scorer" in message
    with pytest.raises(UserError, match="valid severities: S1, S2, S3, S4"):
        label_cluster(store, "C-0001", root_cause="tool_arguments", severity="S9", reviewer="a")
    with pytest.raises(UserError, match="no cluster 'C-0099'"):
        label_cluster(store, "C-0099", root_cause="tool_arguments", reviewer="ana")
    with store.engine.connect() as conn:
        assert conn.execute(select(TriageLabelRow)).all() == []


def test_a_correction_teaches_the_memory_and_a_near_twin_gets_it(
    store: Store, tmp_path: Path
) -> None:
    seed(store, tmp_path)
    first = {r.cluster_id: r for r in triage_clusters(store)}
    assert first["C-0004"].root_cause == "evaluation_scorer"
    saved = label_cluster(
        store, "C-0004", root_cause="model_limitation", severity="S3", reviewer="ana"
    )
    assert saved.record_id == first["C-0004"].record_id
    assert saved.reviewer == "ana"
    assert saved.created_at is not None

    twin = kind_traces("judge", 5, start=50)
    ingest(store, tmp_path, twin)
    add_cluster(store, "C-0005", [r["trace_id"] for r in twin])
    again = {r.cluster_id: r for r in triage_clusters(store)}
    assert again["C-0005"].root_cause == "model_limitation"
    assert again["C-0005"].severity == "S3"
    assert again["C-0005"].detail["method"] == "memory"
    assert "C-0004" in again["C-0005"].rationale
    assert again["C-0001"].root_cause == "tool_arguments"  # other clusters are unaffected


def test_calibration_reports_kappa_against_the_labels(store: Store, tmp_path: Path) -> None:
    seed(store, tmp_path)
    triage_clusters(store)
    human = {
        "C-0001": "tool_arguments",
        "C-0002": "latency_infra",
        "C-0003": "retrieval_ranking",
        "C-0004": "evaluation_scorer",
    }
    for cluster_id, cause in human.items():
        label_cluster(store, cluster_id, root_cause=cause, reviewer="ana")
    report = calibrate(calibration_pairs(store))

    agent = ["tool_arguments", "latency_infra", "data_freshness", "evaluation_scorer"]
    assert report.n == 4
    assert report.kappa == pytest.approx(cohen_kappa_score(agent, list(human.values())), abs=1e-4)
    assert report.confusion["data_freshness"] == {"retrieval_ranking": 1}
    assert report.per_category["data_freshness"].precision == 0.0
    assert report.per_category["retrieval_ranking"].recall == 0.0
    assert report.per_category["tool_arguments"].precision == 1.0
    assert list(report.by_source) == ["offline"]
