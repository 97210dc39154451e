"""The combined score and verdict: noisy-OR, positive feedback, the configured threshold."""

from __future__ import annotations

from flywheel.config import SignalsConfig
from flywheel.signals import combine, detect_failures
from flywheel.store import Store
from flywheel.trace import FailureSignal, SignalKind
from tests.helpers.signals import Ingest, record

ERROR_STEP = [{"id": "s1", "type": "tool", "name": "search", "error": "KeyError: 'q'"}]


def _scores(store: Store) -> dict[str, tuple[float | None, bool | None]]:
    return {t.trace_id: (t.failure_score, t.failing) for t in store.list_traces(limit=100)}


def test_positive_feedback_lowers_the_combined_score(store: Store, ingest: Ingest) -> None:
    ingest(
        [
            record("error", steps=ERROR_STEP),
            record("error-liked", steps=ERROR_STEP, feedback=[{"kind": "thumb", "value": 1}]),
        ]
    )
    detect_failures(store, SignalsConfig())
    scores = _scores(store)
    assert scores["error"] == (0.6, True)
    # 0.6 * (1 - 0.5 * 0.8): the user's thumbs up overrules a recovered tool error.
    assert scores["error-liked"] == (0.36, False)


def test_the_failing_threshold_from_config_decides(store: Store, ingest: Ingest) -> None:
    ingest([record("error", steps=ERROR_STEP)])
    detect_failures(store, SignalsConfig(failing_threshold=0.5))
    assert _scores(store)["error"][1] is True

    report = detect_failures(store, SignalsConfig(failing_threshold=0.7), recompute=True)
    assert _scores(store)["error"][1] is False
    assert (report.failing, report.total_failing) == (0, 0)


def test_independent_signals_add_up_but_never_past_one() -> None:
    config = SignalsConfig()

    def signal(strength: float) -> FailureSignal:
        return FailureSignal(kind=SignalKind.rephrase, strength=strength, evidence="x")

    assert combine([signal(0.4)], config) == (0.4, False)
    assert combine([signal(0.4), signal(0.4)], config) == (0.64, True)
    assert combine([signal(1.0), signal(1.0)], config) == (1.0, True)
    assert combine([], SignalsConfig(failing_threshold=0)) == (0.0, False)
