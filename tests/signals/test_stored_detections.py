"""Detection stores how each failing trace failed; clustering and triage read that record."""

from __future__ import annotations

from collections.abc import Iterator

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from flywheel.clustering._failing import load_failing
from flywheel.config import ClusteringConfig, SignalsConfig
from flywheel.detectors import (
    Finding,
    Symptom,
    TraceView,
    detector,
    stored_detections,
)
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.store._tables import Base
from tests.helpers.plugins import DetectorPlugin, installed
from tests.helpers.signals import Ingest, record
from triage._store import load_members

TIMEOUT_STEP = {"id": "t", "type": "tool", "name": "search_docs", "error": "HTTP 504 timeout"}


def _traces() -> list[dict[str, object]]:
    failing = record(
        "bad", steps=[TIMEOUT_STEP], feedback=[{"kind": "thumb", "value": -1}], output="Sorry."
    )
    return [failing, record("good")]


def test_failing_traces_get_their_detections_stored_and_healthy_ones_none(
    store: Store, ingest: Ingest
) -> None:
    pks = ingest(_traces())
    detect_failures(store, SignalsConfig())
    stored = stored_detections(store, list(pks.values()))
    assert set(stored) == {pks["bad"]}
    (timeout,) = [d for d in stored[pks["bad"]].detections if d.symptom == "tool_timeout"]
    assert (timeout.step_id, timeout.cause, timeout.weight) == ("t", "latency_infra", 1.0)


def test_clustering_and_triage_read_the_stored_record(store: Store, ingest: Ingest) -> None:
    pks = ingest(_traces())
    detect_failures(store, SignalsConfig())
    members = load_members(store, [pks["bad"]])
    stored = members[pks["bad"]].detections
    assert stored is not None
    assert "tool_timeout" in {d.symptom for d in stored}
    (failing,) = load_failing(store, ClusteringConfig())
    assert "symptom:tool_timeout" in failing.features


def test_a_new_detector_or_a_new_trace_version_makes_the_stored_record_stale(
    store: Store, ingest: Ingest
) -> None:
    pks = ingest(_traces())
    detect_failures(store, SignalsConfig())

    @detector("sorry", reads=("trace.output",), emits={"apologised": Symptom()})
    def sorry(view: TraceView) -> Iterator[Finding]:
        """The answer apologises."""
        if "sorry" in view.output.lower():
            yield Finding("apologised", "says sorry")

    with installed(DetectorPlugin(sorry)):
        assert stored_detections(store, [pks["bad"]]) == {}
        (failing,) = load_failing(store, ClusteringConfig())
        assert "symptom:apologised" in failing.features
        detect_failures(store, SignalsConfig(), recompute=True)
        assert "apologised" in stored_detections(store, [pks["bad"]])[pks["bad"]].symptoms()
    ingest([record("bad", steps=[TIMEOUT_STEP], output="Sorry, again.")])
    assert stored_detections(store, [pks["bad"]]) == {}


def test_the_migration_creates_the_table_the_model_declares(store: Store) -> None:
    def ours(_object: object, name: str | None, type_: str, *_args: object) -> bool:
        return type_ != "table" or name == "trace_detections"

    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": ours}
        )
        assert compare_metadata(context, Base.metadata) == []
