"""Bad input gives a decision with low confidence and a stated reason, never a crash: a cluster
of one trace, traces with no steps, steps with no type, multi-agent traces with unnamed agents,
contradictory evidence; and `flywheel triage --json` lists them as needing a human."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.project import Project
from flywheel.trace import FailureSignal, SignalKind, Trace
from tests.helpers.triage import add_cluster, healthy, ingest, kind_traces
from triage import Baseline, MemberTrace, TriageAgent, TriageRecord

LOW = FailureSignal(kind=SignalKind.low_score, strength=0.6, evidence="low judge score")
runner = CliRunner()


def triage(records: list[dict[str, Any]]) -> TriageRecord:
    base = Baseline.from_traces(Trace.model_validate(r) for r in healthy(40))
    members = [MemberTrace(Trace.model_validate(r), [LOW]) for r in records]
    return TriageAgent(baseline=base).triage("C-1", members)


def without_steps(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "steps": []} for r in records]


def untyped(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**r, "steps": [{k: v for k, v in s.items() if k != "type"} for s in r["steps"]]}
        for r in records
    ]


def multi_agent_unnamed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        tid = r["trace_id"]
        agents = [
            {"id": f"{tid}-a1", "type": "agent", "name": ""},
            {"id": f"{tid}-a2", "type": "agent", "name": ""},
        ]
        steps = [{**s, "parent_id": s.get("parent_id") or f"{tid}-a2"} for s in r["steps"]]
        out.append({**r, "steps": agents + steps})
    return out


def test_a_cluster_of_one_trace_needs_a_human() -> None:
    record = triage(kind_traces("tool_args", 1))
    assert record.root_cause == "tool_arguments"
    assert record.confidence < 0.5
    assert record.needs_review
    assert not record.fixable
    assert "a single trace: the pattern is not established yet" in record.review_reasons


def test_traces_with_no_steps_lower_confidence_with_the_reason() -> None:
    clean = triage(kind_traces("draft", 6))
    record = triage(without_steps(kind_traces("draft", 6)))
    assert record.confidence < 0.5 < clean.confidence
    assert record.needs_review
    assert any("6 of 6 traces have no steps" in r for r in record.review_reasons)
    assert record.detail["failing_step"]["summary"] == "no failing step could be named"


def test_steps_with_no_type_lower_confidence_with_the_reason() -> None:
    record = triage(untyped(kind_traces("tool_args", 6)))
    assert record.confidence < 0.5
    assert record.needs_review
    assert not record.fixable
    assert any("have no type" in r for r in record.review_reasons)


def test_unnamed_agents_are_stated_and_the_agent_is_left_unnamed() -> None:
    record = triage(multi_agent_unnamed(kind_traces("tool_args", 6)))
    assert record.root_cause == "tool_arguments"
    assert any("agents without a name" in r for r in record.review_reasons)
    assert record.detail["failing_step"]["agents"] == {"unnamed": 6}


def test_contradictory_evidence_lowers_confidence_and_says_so() -> None:
    record = triage(kind_traces("stale", 4) + kind_traces("timeout", 4, start=20))
    assert record.confidence < 0.5
    assert record.needs_review
    assert not record.fixable
    assert any("evidence is split" in r for r in record.review_reasons)


def test_an_empty_cluster_is_a_decision_not_a_crash() -> None:
    record = triage([])
    assert record.confidence == 0.0
    assert record.needs_review
    assert "the cluster has no member traces" in record.review_reasons


def test_triage_json_lists_the_clusters_that_need_a_human(project: Project, tmp_path: Path) -> None:
    store = project.open_store()
    try:
        lone = kind_traces("draft", 1, start=70)
        bare = without_steps(kind_traces("draft", 5, start=80))
        ingest(store, tmp_path, healthy(20) + kind_traces("tool_args", 6) + lone + bare)
        add_cluster(store, "C-0001", [r["trace_id"] for r in kind_traces("tool_args", 6)])
        add_cluster(store, "C-0002", [r["trace_id"] for r in lone])
        add_cluster(store, "C-0003", [r["trace_id"] for r in bare])
    finally:
        store.close()

    result = runner.invoke(app, ["triage", "--json"])

    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {c["cluster_id"] for c in out["clusters"]} == {"C-0001", "C-0002", "C-0003"}
    review = {item["cluster_id"]: item for item in out["needs_a_human"]}
    assert set(review) == {"C-0002", "C-0003"}
    assert "a single trace: the pattern is not established yet" in review["C-0002"]["reasons"]
    assert any("have no steps" in r for r in review["C-0003"]["reasons"])
    assert all(item["name"] for item in review.values())
    table = runner.invoke(app, ["triage"]).stdout
    assert "needs a human (2), not sent to the optimizers" in table
