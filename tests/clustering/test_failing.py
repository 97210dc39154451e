"""Failing traces are read through the signature cache, which follows traces and settings."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update

from flywheel.clustering import load_failing
from flywheel.config import ClusteringConfig, SignalsConfig
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.store._tables import SignatureRow, TraceRow
from tests.helpers.traffic import WEEK1, Ingest, traffic, write_jsonl

PATTERNS = ["tool_timeout", "needless_clarification"]


def _poison(store: Store) -> None:
    """Overwrite every cached signature, so that a read from the cache shows."""
    with store.engine.begin() as conn:
        conn.execute(update(SignatureRow).values(signature="from the cache"))


def test_a_second_read_comes_from_the_cache(
    store: Store, add_traffic: Ingest, config: ClusteringConfig
) -> None:
    add_traffic(PATTERNS, 6, WEEK1, "w1")
    first = load_failing(store, config)
    with store.engine.connect() as conn:
        cached = conn.execute(select(func.count()).select_from(SignatureRow)).scalar_one()
    assert cached == len(first) == 12
    _poison(store)
    again = load_failing(store, config)
    assert {item.signature for item in again} == {"from the cache"}
    assert [item.features for item in again] == [item.features for item in first]
    assert [item.trace_id for item in again] == [item.trace_id for item in first]


def test_other_signature_settings_rebuild_the_signatures(
    store: Store, add_traffic: Ingest, config: ClusteringConfig
) -> None:
    add_traffic(PATTERNS, 4, WEEK1, "w1")
    load_failing(store, config)
    _poison(store)
    other = config.model_copy(update={"signature_parts": ["request"]})
    rebuilt = load_failing(store, other)
    assert all(item.signature.startswith("request: ") for item in rebuilt)
    with store.engine.connect() as conn:
        cached = conn.execute(select(func.count()).select_from(SignatureRow)).scalar_one()
    assert cached == 8  # one row per trace, whatever settings were used before


def test_a_changed_trace_gets_a_new_signature(
    store: Store, tmp_path: Path, config: ClusteringConfig
) -> None:
    records, _ = traffic(PATTERNS, 3, WEEK1)
    ingest_paths(store, [write_jsonl(tmp_path / "a.jsonl", records)])
    detect_failures(store, SignalsConfig())
    load_failing(store, config)
    _poison(store)
    changed = next(r for r in records if r["trace_id"] == "w1-needless_clarification-000")
    changed["output"] = "Which warehouse do you mean, exactly?"
    ingest_paths(store, [write_jsonl(tmp_path / "b.jsonl", [changed])])
    detect_failures(store, SignalsConfig())
    with store.engine.connect() as conn:
        version = conn.execute(
            select(TraceRow.version).where(TraceRow.trace_id == changed["trace_id"])
        ).scalar_one()
    assert version == 2
    signatures = {item.trace_id: item.signature for item in load_failing(store, config)}
    assert "warehouse" in signatures[changed["trace_id"]]
    untouched = [s for tid, s in signatures.items() if tid != changed["trace_id"]]
    assert set(untouched) == {"from the cache"}
