"""`detect_failures` over a store: what it evaluates, idempotency, reports, progress."""

from __future__ import annotations

from typing import Any

from flywheel.config import SignalsConfig
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.trace import SignalKind
from tests.helpers.signals import Ingest, record


def snapshot(store: Store) -> dict[str, Any]:
    return {
        t.trace_id: (
            t.failing,
            t.failure_score,
            [s.model_dump() for s in store.signals_of(t.pk)],
        )
        for t in store.list_traces(limit=1000)
    }


def mixed() -> list[dict[str, Any]]:
    records = [record(f"ok{i}", latency_ms=1000 + 10 * i) for i in range(25)]
    records += [
        record("down", feedback=[{"kind": "thumb", "value": -1, "comment": "useless"}]),
        record("slow", latency_ms=30_000),
        record(
            "s1",
            session_id="s",
            timestamp="2026-03-02T10:00:00Z",
            input="find the contract renewal date for Initech",
        ),
        record(
            "s2",
            session_id="s",
            timestamp="2026-03-02T10:01:00Z",
            input="when is the Initech contract renewal date",
        ),
    ]
    return records


def test_detecting_twice_gives_the_same_rows(store: Store, ingest: Ingest) -> None:
    ingest(mixed())
    first = detect_failures(store, SignalsConfig())
    before = snapshot(store)

    again = detect_failures(store, SignalsConfig())
    assert again.evaluated == 0
    recomputed = detect_failures(store, SignalsConfig(), recompute=True)

    assert snapshot(store) == before
    assert recomputed.model_dump() == first.model_dump()
    assert first.evaluated == 29
    assert first.by_kind == {"latency_anomaly": 1, "negative_feedback": 1, "rephrase": 1}
    # The rephrase alone (0.4) stays under the threshold.
    assert first.failing == first.total_failing == store.count_traces(failing=True) == 2


def test_a_later_turn_reevaluates_the_earlier_trace_of_its_session(
    store: Store, ingest: Ingest
) -> None:
    pks = ingest(
        [
            record(
                "first",
                session_id="s",
                timestamp="2026-03-02T10:00:00Z",
                input="refund order 1234 please",
            ),
            record("other", session_id="t", timestamp="2026-03-02T10:00:00Z"),
        ]
    )
    detect_failures(store, SignalsConfig())
    assert store.signals_of(pks["first"]) == []

    pks = ingest(
        [
            record(
                "second",
                session_id="s",
                timestamp="2026-03-02T10:02:00Z",
                input="please refund order 1234",
            )
        ]
    )
    report = detect_failures(store, SignalsConfig())

    assert report.evaluated == 2  # the new turn and the one before it, not session t
    assert [s.kind for s in store.signals_of(pks["first"])] == [SignalKind.repeat]


def test_a_changed_trace_is_evaluated_again(store: Store, ingest: Ingest) -> None:
    pks = ingest([record("t")])
    detect_failures(store, SignalsConfig())
    ingest([record("t", feedback=[{"kind": "thumb", "value": -1}])])

    report = detect_failures(store, SignalsConfig())

    assert report.evaluated == 1
    assert [s.kind for s in store.signals_of(pks["t"])] == [SignalKind.negative_feedback]


def test_progress_is_reported_up_to_the_total(store: Store, ingest: Ingest) -> None:
    ingest(mixed())
    calls: list[tuple[int, int]] = []
    detect_failures(
        store, SignalsConfig(), on_progress=lambda done, total: calls.append((done, total))
    )
    assert calls[-1] == (29, 29)


def test_an_empty_store_evaluates_nothing(store: Store) -> None:
    report = detect_failures(store, SignalsConfig())
    assert report.model_dump() == {
        "evaluated": 0,
        "failing": 0,
        "total_failing": 0,
        "by_kind": {},
        "quarantined": 0,
    }
