"""The offline classifier on crafted clusters of each major kind, and its bad-input cases."""

from __future__ import annotations

import pytest

from flywheel.trace import FailureSignal, SignalKind, Trace
from tests.helpers.triage import healthy, make_trace
from triage import (
    Baseline,
    Classification,
    ClusterEvidence,
    LabelledExample,
    MemberTrace,
    NeighbourMemory,
    RuleClassifier,
    TriageAgent,
    gather_evidence,
)

LOW = FailureSignal(kind=SignalKind.low_score, strength=0.6, evidence="low judge score")


def evidence(*groups: tuple[str, int]) -> ClusterEvidence:
    base = Baseline.from_traces(Trace.model_validate(r) for r in healthy(40))
    members = [
        MemberTrace(Trace.model_validate(make_trace(kind, 100 * g + i)), [LOW])
        for g, (kind, n) in enumerate(groups)
        for i in range(n)
    ]
    return gather_evidence("C-1", members, base)


@pytest.mark.parametrize(
    ("kind", "cause"),
    [
        ("direct", "routing_decision"),
        ("timeout", "latency_infra"),
        ("tool_args", "tool_arguments"),
        ("stale", "data_freshness"),
        ("draft", "prompt_instruction"),
        ("recipient", "prompt_instruction"),
        ("judge", "evaluation_scorer"),
        ("unsupported", "missing_capability"),
    ],
)
def test_each_kind_of_cluster_gets_its_root_cause(kind: str, cause: str) -> None:
    result = RuleClassifier().classify(evidence((kind, 8)))
    assert result.root_cause == cause
    assert result.confidence >= 0.8
    assert result.contradictions == []


def test_a_mixed_cluster_gets_the_cause_most_of_its_traces_show() -> None:
    result = RuleClassifier().classify(evidence(("tool_args", 9), ("timeout", 3)))
    assert result.root_cause == "tool_arguments"
    assert result.scores["tool_arguments"] > result.scores["latency_infra"]


def test_contradictory_evidence_is_stated_and_lowers_confidence() -> None:
    clean = RuleClassifier().classify(evidence(("stale", 10)))
    split = RuleClassifier().classify(evidence(("stale", 5), ("timeout", 5)))
    assert split.contradictions
    assert "evidence is split" in split.contradictions[0]
    assert split.confidence < clean.confidence * 0.6


def test_a_one_trace_cluster_is_classified_with_capped_confidence() -> None:
    result = RuleClassifier().classify(evidence(("tool_args", 1)))
    assert result.root_cause == "tool_arguments"
    assert result.confidence <= 0.5
    assert any("single trace" in note for note in result.notes)


def test_no_evidence_at_all_suspects_the_model_with_low_confidence() -> None:
    result = RuleClassifier().classify(evidence(("plain_wrong", 6)))
    assert result.root_cause == "model_limitation"
    assert result.confidence <= 0.2


def test_the_memory_gives_a_near_twin_the_reviewers_answer() -> None:
    seen = evidence(("judge", 6))
    twin = evidence(("judge", 7))
    other = evidence(("timeout", 6))
    memory = NeighbourMemory(
        [LabelledExample(cluster_id="C-7", vector=seen.vector(), root_cause="model_limitation")]
    )
    remembered = memory.classify(twin)
    assert remembered is not None
    assert (remembered.root_cause, remembered.method) == ("model_limitation", "memory")
    assert memory.classify(other) is None


def test_the_agent_writes_a_record_with_evidence_and_a_rationale() -> None:
    base = Baseline.from_traces(Trace.model_validate(r) for r in healthy(40))
    members = [
        MemberTrace(Trace.model_validate(make_trace("tool_args", i)), [LOW]) for i in range(6)
    ]
    record = TriageAgent(baseline=base).triage("C-3", members, cluster_run_id=4)
    assert record.root_cause == "tool_arguments"
    assert (record.component, record.fixable, record.fix_type) == (
        "tools",
        True,
        "tool_description",
    )
    assert record.source == "offline"
    assert record.severity == "S2"
    assert record.cluster_run_id == 4
    assert record.evidence[0].trace_id == "tool_args-000"
    assert record.evidence[0].step_id == "tool_args-000-t"
    assert "tool_argument_error in 100% of 6 traces" in record.rationale
    assert "S2 (x4)" in record.priority_explanation


def test_severity_comes_from_evidence_not_from_the_category() -> None:
    base = Baseline.from_traces(Trace.model_validate(r) for r in healthy(40))
    agent = TriageAgent(baseline=base)

    def severity(kind: str) -> str:
        members = [MemberTrace(Trace.model_validate(make_trace(kind, i)), [LOW]) for i in range(5)]
        return agent.triage("C-1", members).severity

    # Both are prompt_instruction; an email to an invented person is a privacy harm.
    assert severity("recipient") == "S1"
    assert severity("draft") == "S2"
    assert severity("judge") in ("S3", "S4")


class AlwaysMemory:
    """A team's own classifier: says memory_multiturn for timeout clusters, defers otherwise."""

    def classify(self, evidence: ClusterEvidence) -> Classification | None:
        if evidence.fact_rates.get("tool_timeout", 0) < 0.5:
            return None
        return Classification(root_cause="memory_multiturn", confidence=0.7, method="team")


def test_a_plugged_in_classifier_decides_before_the_rules_or_defers() -> None:
    base = Baseline.from_traces(Trace.model_validate(r) for r in healthy(40))
    agent = TriageAgent(baseline=base, classifiers=[AlwaysMemory()])
    timeouts = [
        MemberTrace(Trace.model_validate(make_trace("timeout", i)), [LOW]) for i in range(4)
    ]
    stale = [MemberTrace(Trace.model_validate(make_trace("stale", i)), [LOW]) for i in range(4)]
    assert agent.triage("C-1", timeouts).root_cause == "memory_multiturn"
    assert agent.triage("C-2", stale).root_cause == "data_freshness"  # it deferred
