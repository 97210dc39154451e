"""Triage's own evidence for a cause: what people say went wrong, a judge overruled by a
person, and a failed follow-up turn."""

from __future__ import annotations

from typing import Any

import pytest

from flywheel.trace import FailureSignal, SignalKind, Trace
from tests.helpers.triage import healthy, make_trace
from triage import Baseline, MemberTrace, gather_evidence
from triage._classify import classify_trace
from triage._complaints import complaint_causes


def _facts(record: dict[str, Any], signals: list[FailureSignal] | None = None) -> list[str]:
    base = Baseline.from_traces(Trace.model_validate(r) for r in healthy(40))
    trace = Trace.model_validate(record)
    evidence = gather_evidence("C-1", [MemberTrace(trace, signals or [])], base)
    return next(iter(evidence.trace_facts.values()))


@pytest.mark.parametrize(
    ("comment", "fact"),
    [
        ("I asked for non-GAAP earlier", "said_earlier_turn_ignored"),
        ("as I said before, keep the alias", "said_earlier_turn_ignored"),
        ("this is the original text, not the current one", "said_out_of_date"),
        ("that's not the latest quarter", "said_out_of_date"),
        ("wrong company!", "said_wrong_source"),
        ("didn't actually look anything up", "said_not_looked_up"),
        ("it IS in the transcript", "said_in_the_document"),
        ("numbers are wrong", "said_reasoning_wrong"),
        ("missing disclaimer", "said_rule_broken"),
        ("that's not real-time", "said_cannot_do"),
    ],
)
def test_a_comment_that_names_a_cause_is_evidence_for_it(comment: str, fact: str) -> None:
    assert fact in complaint_causes([comment])


def test_a_negated_phrase_names_no_cause() -> None:
    assert complaint_causes(["great memo, not outdated at all", "thanks!"]) == {}


def test_a_plain_complaint_is_decided_by_what_the_person_said() -> None:
    comment = {"kind": "thumb", "value": -1, "comment": "outdated: those are last year's prices"}
    facts = _facts(make_trace("plain_wrong", 1, feedback=[comment]))
    assert "said_out_of_date" in facts
    assert classify_trace(facts) == "data_freshness"


def test_a_judge_failing_what_a_reviewer_approved_points_at_the_judge() -> None:
    record = make_trace("healthy", 2)
    record["scores"] = {"quality": 0.1}
    record["feedback"] = [{"kind": "implicit", "value": 1, "source": "reviewer"}]
    signals = [FailureSignal(kind=SignalKind.low_score, strength=0.9, evidence="quality=0.10")]
    facts = _facts(record, signals)
    assert "judge_against_people" in facts
    assert classify_trace(facts) == "evaluation_scorer"


def test_a_failed_follow_up_with_nothing_else_suspects_the_earlier_turns() -> None:
    record = make_trace("plain_wrong", 3)
    record["input"] = [
        {"role": "user", "content": "Keep the old alias please."},
        {"role": "assistant", "content": "Sure, I will keep it."},
        {"role": "user", "content": "Now rename the function."},
    ]
    facts = _facts(record)
    assert "follow_up_turn" in facts
    assert classify_trace(facts) == "memory_multiturn"
