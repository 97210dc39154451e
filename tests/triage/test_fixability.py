"""Fixability that means it: only config-shaped evidence of a cause the optimizers change, never
a low-confidence guess; every other cluster goes to its owner with a one-line reason, and the
optimizers (the nightly stage and `optimize`) skip it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flywheel.store import Store
from flywheel.trace import FailureSignal, SignalKind, Trace
from optimizers._stage import eligible_clusters
from tests.helpers.triage import add_cluster, healthy, ingest, kind_traces, make_trace
from triage import Baseline, MemberTrace, TriageAgent, TriageConfig, triage_clusters

LOW = FailureSignal(kind=SignalKind.low_score, strength=0.6, evidence="low judge score")


def with_error(kind: str, i: int, error: str) -> dict[str, Any]:
    """A trace of ``kind`` whose tool step failed with ``error`` instead."""
    record = make_trace(kind, i)
    for step in record["steps"]:
        if step["type"] == "tool":
            step["error"] = error
    return record


def triage(records: list[dict[str, Any]], config: TriageConfig | None = None) -> Any:
    base = Baseline.from_traces(Trace.model_validate(r) for r in healthy(40))
    members = [MemberTrace(Trace.model_validate(r), [LOW]) for r in records]
    return TriageAgent(baseline=base, config=config).triage("C-1", members)


def test_argument_errors_are_fixable_by_a_tool_description() -> None:
    record = triage(kind_traces("tool_args", 6))
    assert (record.root_cause, record.fixable, record.handoff_reason) == (
        "tool_arguments",
        True,
        "",
    )
    assert "tool_description" in record.rationale


def test_a_tool_that_rejects_the_call_as_unknown_is_not_an_argument_fix() -> None:
    records = [with_error("tool_args", i, "tool 'ticket_search' not found") for i in range(6)]
    record = triage(records)
    assert record.root_cause == "tool_arguments"
    assert not record.fixable
    assert record.component == "tools"
    assert "reasons other than their arguments" in record.handoff_reason
    assert "Not for the optimizers" in record.rationale


def test_argument_errors_during_an_outage_are_not_fixable() -> None:
    records = kind_traces("tool_args", 6) + kind_traces("timeout", 2, start=10)
    record = triage(records)
    assert record.root_cause == "tool_arguments"
    assert not record.fixable
    assert "latency_infra" in record.handoff_reason
    assert "configuration cannot fix" in record.handoff_reason


def test_causes_the_optimizers_cannot_change_name_owner_and_reason() -> None:
    cases = {
        "timeout": ("latency_infra", "infra", "infrastructure"),
        "stale": ("data_freshness", "data", "stale data"),
        "unsupported": ("missing_capability", "product", "missing tool"),
        "plain_wrong": ("model_limitation", "model", "model limit"),
    }
    for kind, (cause, owner, reason) in cases.items():
        record = triage(kind_traces(kind, 6))
        assert (record.root_cause, record.component, record.fixable) == (cause, owner, False)
        assert record.handoff_reason.startswith(reason), (kind, record.handoff_reason)


def test_a_low_confidence_cluster_is_never_fixable() -> None:
    strict = TriageConfig(review_below=0.99)
    record = triage(kind_traces("draft", 4) + kind_traces("direct", 2, start=20), strict)
    assert record.root_cause == "prompt_instruction"
    assert record.confidence < 0.99
    assert record.needs_review
    assert not record.fixable
    assert "needs a human first" in record.handoff_reason
    assert record.review_reasons[0].startswith(f"confidence {record.confidence:.2f} is under")


def seed(store: Store, tmp_path: Path) -> None:
    ingest(
        store,
        tmp_path,
        healthy(30)
        + kind_traces("tool_args", 6)
        + kind_traces("timeout", 6)
        + kind_traces("draft", 1, start=50),
    )
    add_cluster(store, "C-0001", [r["trace_id"] for r in kind_traces("tool_args", 6)])
    add_cluster(store, "C-0002", [r["trace_id"] for r in kind_traces("timeout", 6)])
    add_cluster(store, "C-0003", ["draft-050"])


def test_the_nightly_optimize_stage_skips_owned_and_needs_review_clusters(
    store: Store, tmp_path: Path
) -> None:
    seed(store, tmp_path)
    records = {r.cluster_id: r for r in triage_clusters(store)}
    # C-0003 is a prompt_instruction cluster, a cause the optimizers change, but of one trace.
    assert records["C-0003"].root_cause == "prompt_instruction"
    assert records["C-0003"].needs_review
    assert not records["C-0003"].fixable
    assert not records["C-0002"].fixable
    chosen, waiting = eligible_clusters(store, limit=10)
    assert chosen == ["C-0001"]
    assert waiting == {}


def test_the_optimizers_hand_off_a_needs_review_cluster_even_if_called_fixable(
    store: Store, tmp_path: Path
) -> None:
    from optimizers import InlineExecutor, optimize
    from optimizers._workers import ClusterInput

    seed(store, tmp_path)
    failing = [Trace.model_validate(r) for r in kind_traces("tool_args", 6)]
    cluster = ClusterInput(
        cluster_id="C-0001",
        root_cause="tool_arguments",
        fixable=True,
        needs_review=True,
        handoff_reason="needs a human first: confidence 0.30 is under 0.50",
        failing=failing,
    )

    class Workspace:
        """Every workspace call fails the test: a hand-off must not touch the config repo."""

        def __getattr__(self, name: str) -> Any:
            if name in ("clean_orphans", "config_files", "head_commit", "recent_changes"):
                return lambda *a, **k: {} if name == "config_files" else None
            raise AssertionError(f"the workspace was used: {name}")

    result = optimize(store, Workspace(), [cluster], executor=InlineExecutor())  # type: ignore[arg-type]
    assert result.candidates == []
    (handoff,) = result.handoffs
    assert handoff.reason.startswith("needs a human first: confidence 0.30")
    assert handoff.owner == "tools"


def test_a_cause_named_only_by_comments_is_not_sent_to_the_optimizers() -> None:
    said = {"kind": "thumb", "value": -1, "comment": "missing disclaimer, we can't send this"}
    thumb = FailureSignal(kind=SignalKind.negative_feedback, strength=0.9, evidence="thumb down")
    base = Baseline.from_traces(Trace.model_validate(r) for r in healthy(40))
    members = [
        MemberTrace(Trace.model_validate(make_trace("plain_wrong", i, feedback=[said])), [thumb])
        for i in range(8)
    ]
    record = TriageAgent(baseline=base).triage("C-1", members)
    assert record.root_cause == "prompt_instruction"
    assert record.confidence >= TriageConfig().review_below
    assert not record.fixable
    assert record.handoff_reason
