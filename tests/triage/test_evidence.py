"""Evidence extraction on crafted traces: each fact fires on its evidence and names the step."""

from __future__ import annotations

from typing import Any

import pytest

from flywheel.trace import FailureSignal, SignalKind, Trace
from tests.helpers.triage import healthy, make_trace
from triage import Baseline, MemberTrace, gather_evidence


def baseline() -> Baseline:
    return Baseline.from_traces(Trace.model_validate(r) for r in healthy(40))


def facts_of(record: dict[str, Any], signals: list[FailureSignal] | None = None) -> dict[str, Any]:
    trace = Trace.model_validate(record)
    evidence = gather_evidence("C-1", [MemberTrace(trace, signals or [])], baseline())
    return {item.fact: item for item in evidence.items}


@pytest.mark.parametrize(
    ("kind", "fact", "step_suffix"),
    [
        ("timeout", "tool_timeout", "-t"),
        ("tool_args", "tool_argument_error", "-t"),
        ("stale", "stale_source", "-llm"),
        ("stale", "superseded_retrieved", "-bm25"),
        ("draft", "draft_missing", "-llm"),
        ("recipient", "wrong_recipient", "-llm"),
        ("direct", "direct_answer", "-r"),
        ("unsupported", "refusal", "-llm"),
    ],
)
def test_each_fact_names_the_trace_and_step_that_show_it(
    kind: str, fact: str, step_suffix: str
) -> None:
    record = make_trace(kind, 1)
    items = facts_of(record)
    assert fact in items, sorted(items)
    assert items[fact].trace_id == record["trace_id"]
    assert items[fact].step_id == record["trace_id"] + step_suffix


def test_a_greeting_name_found_nowhere_is_weaker_than_a_wrong_recipient() -> None:
    record = make_trace(
        "recipient",
        2,
        request="Please draft an email to Initech about the renewal.",
        output="Subject: Initech\n\nHi Jordan,\n\nThe renewal is in March.",
    )
    items = facts_of(record)
    assert "unknown_addressee" in items
    assert "wrong_recipient" not in items
    assert "'Jordan', named nowhere in the input" in items["unknown_addressee"].why
    named = make_trace("recipient", 3, output="Subject: Initech\n\nHi Bill,\n\nFixed.")
    assert not {"unknown_addressee", "wrong_recipient"} & set(facts_of(named))


def test_a_judge_that_disagrees_with_itself_is_evidence_against_the_scorer() -> None:
    record = make_trace("judge", 1)
    low = FailureSignal(kind=SignalKind.low_score, strength=0.6, evidence="helpfulness=0.1")
    items = facts_of(record, [low])
    assert "evaluators_disagree" in items
    assert "judge_only" in items
    assert "helpfulness=0.10 but groundedness=0.90" in items["evaluators_disagree"].why
    complaint = FailureSignal(kind=SignalKind.complaint, strength=0.8, evidence="wrong")
    # A user's complaint says the failure is real: the judges' doubt no longer blames them.
    assert "judge_only" not in facts_of(record, [low, complaint])


def test_healthy_looking_traces_fire_no_root_cause_fact() -> None:
    assert set(facts_of(make_trace("plain_wrong", 1))) <= {"low_groundedness"}


def test_evidence_compares_the_cluster_with_healthy_traffic() -> None:
    members = [MemberTrace(Trace.model_validate(make_trace("timeout", i))) for i in range(4)]
    evidence = gather_evidence("C-9", members, baseline())
    assert evidence.traces == 4
    assert evidence.fact_rates["tool_timeout"] == 1.0
    assert evidence.route_mix == {"tool": 1.0}
    assert evidence.healthy_route_mix == {"search": 0.5, "direct": 0.5}
    assert evidence.error_types == {"TimeoutError": 4}
    assert evidence.fact_rates["latency_outlier"] == 1.0  # 25 s vs a healthy p95 of 0.7 s
    assert len(evidence.vector()) == len(evidence.fact_rates) + sum(
        1 for v in evidence.vector() if v == 0
    )


def test_a_weekly_digest_series_is_not_mistaken_for_stale_versions() -> None:
    record = make_trace("healthy", 2)
    record["steps"][2]["output"]["documents"] = [
        {"id": "KB-16", "score": 5.0, "date": "2026-09-14", "title": "Weekly digest"},
        {"id": "KB-17", "score": 4.0, "date": "2026-09-21", "title": "Weekly digest"},
    ]
    record["output"] = "Here is the digest. [KB-16]"
    items = facts_of(record)
    assert "stale_source" not in items
    assert "superseded_retrieved" not in items
