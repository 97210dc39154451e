"""Explicit signals end to end: crafted traces ingested, detected, read back from the store."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from flywheel.config import SignalsConfig
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.trace import SignalKind
from tests.helpers.signals import Ingest, record

CASES: dict[str, tuple[dict[str, Any], SignalKind, str]] = {
    "thumbs-down": (
        {"feedback": [{"kind": "thumb", "value": -1, "comment": "this is wrong"}]},
        SignalKind.negative_feedback,
        "user thumbs down: 'this is wrong'",
    ),
    "thumbs-down-as-zero": (
        {"feedback": [{"kind": "thumb", "value": 0, "source": "user"}]},
        SignalKind.negative_feedback,
        "user thumbs down",
    ),
    "thumbs-down-as-false": (
        {"feedback": [{"kind": "thumb", "value": False}]},
        SignalKind.negative_feedback,
        "user thumbs down",
    ),
    "low-rating": (
        {"feedback": [{"kind": "rating", "value": 1, "scale": 5}]},
        SignalKind.low_rating,
        "rating 1/5",
    ),
    "complaint": (
        {"feedback": [{"kind": "comment", "comment": "That's not what I asked for."}]},
        SignalKind.complaint,
        "not what I asked",
    ),
    "correction": (
        {"feedback": [{"kind": "correction", "comment": "The deadline is Friday, not Monday"}]},
        SignalKind.correction,
        "Friday",
    ),
    "reviewer": (
        {"feedback": [{"kind": "thumb", "value": -1, "source": "reviewer"}]},
        SignalKind.reviewer_label,
        "reviewer thumbs down",
    ),
    "low-score": ({"scores": {"groundedness": 0.2}}, SignalKind.low_score, "groundedness"),
    "reward-zero": ({"scores": {"reward": 0}}, SignalKind.task_failure, "task reward 0"),
    "step-error": (
        {
            "steps": [
                {"id": "s1", "type": "tool", "name": "send_mail", "error": "ValueError: no to"}
            ]
        },
        SignalKind.step_error,
        "tool step 'send_mail' failed: ValueError: no to",
    ),
    "timeout": (
        {
            "steps": [
                {"id": "s9", "type": "retriever", "error": "TimeoutError: deadline exceeded 30s"}
            ]
        },
        SignalKind.timeout,
        "timed out",
    ),
    "thumbs-up": (
        {"feedback": [{"kind": "thumb", "value": 1}]},
        SignalKind.positive_feedback,
        "user thumbs up",
    ),
}


def test_each_signal_kind_fires_on_its_trace_and_not_on_a_healthy_one(
    store: Store, ingest: Ingest
) -> None:
    pks = ingest(
        [record("healthy")] + [record(name, **fields) for name, (fields, _, _) in CASES.items()]
    )

    report = detect_failures(store, SignalsConfig())

    assert report.evaluated == len(CASES) + 1
    assert store.signals_of(pks["healthy"]) == []
    for name, (_, kind, evidence) in CASES.items():
        signals = store.signals_of(pks[name])
        assert [s.kind for s in signals] == [kind], name
        assert evidence in signals[0].evidence, (name, signals[0].evidence)
    assert store.signals_of(pks["step-error"])[0].step_id == "s1"
    assert store.signals_of(pks["timeout"])[0].step_id == "s9"
    verdicts = {t.trace_id: t.failing for t in store.list_traces(limit=100)}
    assert verdicts["healthy"] is False
    assert verdicts["thumbs-up"] is False
    assert all(verdicts[name] for name in CASES if name != "thumbs-up")
    assert report.by_kind == dict(Counter(kind.value for _, kind, _ in CASES.values()))


def test_a_good_score_a_mid_rating_and_a_praising_comment_raise_nothing(
    store: Store, ingest: Ingest
) -> None:
    pks = ingest(
        [
            record(
                "fine",
                scores={"groundedness": 0.7, "reward": 1},
                feedback=[
                    {"kind": "rating", "value": 3, "scale": 5},
                    {"kind": "comment", "comment": "Nothing wrong here, it works great"},
                ],
            )
        ]
    )
    detect_failures(store, SignalsConfig())
    assert store.signals_of(pks["fine"]) == []


def test_score_thresholds_come_from_config(store: Store, ingest: Ingest) -> None:
    pks = ingest([record("judged", scores={"helpfulness": 6, "groundedness": 0.45})])
    config = SignalsConfig.model_validate(
        {"scores": {"helpfulness": {"bad_below": 7}, "default": {"bad_below": 0.4}}}
    )

    detect_failures(store, config)

    (signal,) = store.signals_of(pks["judged"])
    assert signal.kind is SignalKind.low_score
    assert signal.detail == {
        "score": "helpfulness",
        "value": 6,
        "threshold": 7,
        "higher_is_better": True,
    }
    assert 0.5 < signal.strength < 0.6


def test_a_lower_rating_is_a_stronger_signal(store: Store, ingest: Ingest) -> None:
    pks = ingest(
        [
            record("two", feedback=[{"kind": "rating", "value": 2}]),
            record("one", feedback=[{"kind": "rating", "value": 1, "scale": 5}]),
            record("fraction", feedback=[{"kind": "rating", "value": 0.1}]),
        ]
    )
    detect_failures(store, SignalsConfig())
    two, one, fraction = (store.signals_of(pks[k])[0] for k in ("two", "one", "fraction"))
    assert two.kind is one.kind is fraction.kind is SignalKind.low_rating
    assert two.strength < one.strength
    assert "rating 0.1/1" in fraction.evidence


def test_a_parent_span_repeating_its_childs_error_counts_once(store: Store, ingest: Ingest) -> None:
    error = "ConnectionError: mail server refused"
    pks = ingest(
        [
            record(
                "nested",
                steps=[
                    {"id": "root", "type": "chain", "error": error},
                    {"id": "leaf", "parent_id": "root", "type": "tool", "error": error},
                ],
            )
        ]
    )
    detect_failures(store, SignalsConfig())
    signals = store.signals_of(pks["nested"])
    assert [(s.kind, s.step_id) for s in signals] == [(SignalKind.step_error, "leaf")]
    assert signals[0].detail["error_type"] == "ConnectionError"


@pytest.mark.parametrize(
    ("comment", "extra", "complaint"),
    [
        ("The recipient is wrong", [], True),
        ("It doesn't work at all", [], True),
        ("you hallucinated a meeting", [], True),
        ("the attachment is missing", [], True),
        ("Nothing wrong with it", [], False),
        ("it was not useless, thanks", [], False),
        ("great answer", [], False),
        ("please cc legal next time", ["cc legal"], True),
    ],
)
def test_complaint_comments(
    store: Store, ingest: Ingest, comment: str, extra: list[str], complaint: bool
) -> None:
    pks = ingest([record("c", feedback=[{"kind": "comment", "comment": comment}])])
    detect_failures(store, SignalsConfig(complaint_phrases=extra))
    kinds = [s.kind for s in store.signals_of(pks["c"])]
    assert kinds == ([SignalKind.complaint] if complaint else [])


@pytest.mark.parametrize(
    ("feedback", "kind", "failing"),
    [
        # A support desk's implicit events, in its own words, with no value.
        (
            {"kind": "implicit", "source": "system", "comment": "case reopened by customer"},
            SignalKind.negative_feedback,
            True,
        ),
        (
            {"kind": "implicit", "source": "system", "comment": "repeat contact within 48h"},
            SignalKind.negative_feedback,
            True,
        ),
        (
            {"kind": "implicit", "value": 0, "event": "ticket.reopened"},
            SignalKind.negative_feedback,
            True,
        ),
        # A code review's state: changes requested is a reviewer's verdict, whatever the words.
        (
            {
                "kind": "comment",
                "source": "reviewer",
                "review_state": "changes_requested",
                "comment": "The module you edited is dead code.",
            },
            SignalKind.reviewer_label,
            True,
        ),
        ({"kind": "thumb", "reaction": "x"}, SignalKind.negative_feedback, True),
        (
            {"kind": "implicit", "source": "reviewer", "event": "pr_review.approved"},
            SignalKind.positive_feedback,
            False,
        ),
        ({"kind": "implicit", "comment": "not approved yet"}, None, False),
        (
            {
                "kind": "comment",
                "source": "reviewer",
                "review_state": "commented",
                "comment": "Can you squash before merge?",
            },
            None,
            False,
        ),
    ],
)
def test_value_less_feedback_is_read_from_its_event_state_and_words(
    store: Store, ingest: Ingest, feedback: dict[str, Any], kind: SignalKind | None, failing: bool
) -> None:
    pks = ingest([record("f", feedback=[feedback])])
    detect_failures(store, SignalsConfig())
    assert [s.kind for s in store.signals_of(pks["f"])] == ([kind] if kind else [])
    assert store.get_trace("f").failing is failing


def test_an_error_a_retry_recovered_from_does_not_fail_a_trace_alone(
    store: Store, ingest: Ingest
) -> None:
    flaky = {"type": "tool", "name": "crm.lookup"}
    pks = ingest(
        [
            record(
                "recovered",
                steps=[
                    {"id": "a", **flaky, "error": "503 Service Unavailable"},
                    {"id": "b", **flaky},
                ],
            ),
            record(
                "failed-again",
                steps=[
                    {"id": "a", **flaky},
                    {"id": "b", **flaky, "error": "503 Service Unavailable"},
                ],
            ),
        ]
    )
    detect_failures(store, SignalsConfig())
    (recovered,) = store.signals_of(pks["recovered"])
    assert recovered.detail["recovered"] is True
    assert "then succeeded on a later call" in recovered.evidence
    assert store.get_trace("recovered").failing is False
    (failed,) = store.signals_of(pks["failed-again"])
    assert failed.strength > recovered.strength
    assert store.get_trace("failed-again").failing is True
