"""Evidence about one cluster, gathered from its traces and compared with healthy traffic.

`gather_evidence` turns the member traces (with their failure signals) into a
`ClusterEvidence`: how often each fact fires (the cluster's feature vector), the route and tool
mix against healthy traffic, error types, retrieval, latency and cost figures, feedback
comments, users affected, weekly volume, and evidence items that each name a trace id and a
step id a reviewer can open.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from flywheel.detectors import Detection
from flywheel.trace import FailureSignal, StepType, Trace
from triage._facts import Baseline, Fact, fact_names, read_trace


class EvidenceItem(BaseModel):
    """One checkable piece of evidence: open ``trace_id`` (and ``step_id``) to see ``why``."""

    model_config = ConfigDict(extra="forbid")

    trace_id: str
    step_id: str | None = None
    fact: str
    why: str


@dataclass(frozen=True)
class MemberTrace:
    """A failing trace of a cluster, with its failure signals."""

    trace: Trace
    signals: Sequence[FailureSignal] = ()
    #: Its stored detections (`flywheel.detectors`); None runs the detectors now.
    detections: Sequence[Detection] | None = None


class ClusterEvidence(BaseModel):
    """Everything the classifier, the severity assessment and the rationale read."""

    model_config = ConfigDict(extra="forbid")

    cluster_id: str
    traces: int
    users: int = Field(description="distinct users (or sessions) among the members")
    sessions: int = Field(default=0, description="distinct sessions among the members")
    fact_rates: dict[str, float] = Field(description="share of member traces per fact")
    trace_facts: dict[str, list[str]] = Field(description="trace id -> facts that fired")
    items: list[EvidenceItem]
    route_mix: dict[str, float]
    healthy_route_mix: dict[str, float]
    tool_mix: dict[str, float]
    healthy_tool_mix: dict[str, float]
    error_types: dict[str, int]
    comments: list[str]
    latency_p50_ms: float | None = None
    healthy_latency_p95_ms: float | None = None
    weekly_counts: dict[str, int] = Field(default_factory=dict)
    growth: float | None = Field(default=None, description="last week over the one before - 1")
    signal_kinds: dict[str, int] = Field(default_factory=dict)
    detector_failures: dict[str, int] = Field(
        default_factory=dict, description="detector -> member traces it failed on (skipped)"
    )

    def vector(self) -> list[float]:
        """The fact rates in `fact_names` order (what the nearest-neighbour memory compares)."""
        return [self.fact_rates.get(name, 0.0) for name in fact_names()]


def gather_evidence(
    cluster_id: str,
    members: Sequence[MemberTrace],
    baseline: Baseline,
    *,
    max_items_per_fact: int = 3,
) -> ClusterEvidence:
    """The evidence of one cluster (works for one trace as well as thousands)."""
    per_trace: dict[str, list[Fact]] = {}
    counts: Counter[str] = Counter()
    examples: defaultdict[str, list[EvidenceItem]] = defaultdict(list)
    routes: Counter[str] = Counter()
    tools: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    comments: list[str] = []
    latencies: list[float] = []
    users: set[str] = set()
    sessions: set[str] = set()
    weeks: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for member in members:
        trace = member.trace
        read = read_trace(trace, member.signals, baseline, member.detections)
        facts = read.facts
        failed.update(f.detector for f in read.failures)
        per_trace[trace.trace_id] = facts
        counts.update({fact.name for fact in facts})
        for fact in facts:
            if len(examples[fact.name]) < max_items_per_fact:
                examples[fact.name].append(
                    EvidenceItem(
                        trace_id=trace.trace_id, step_id=fact.step_id, fact=fact.name, why=fact.why
                    )
                )
        routes[trace.route or "(none)"] += 1
        tools.update(s.name for s in trace.steps if s.type is StepType.tool)
        errors.update(_error_type(s.error) for s in trace.steps if s.error)
        kinds.update(s.kind.value for s in member.signals)
        comments.extend(f.comment for f in trace.feedback if f.comment)
        if trace.latency_ms is not None:
            latencies.append(trace.latency_ms)
        users.add(trace.user_id or trace.session_id or trace.trace_id)
        sessions.add(trace.session_id or trace.trace_id)
        if trace.timestamp is not None:
            weeks[_iso_week(trace.timestamp)] += 1
    n = len(members)
    total_tools = sum(tools.values()) or 1
    ordered_weeks = dict(sorted(weeks.items()))
    counts_by_week = list(ordered_weeks.values())
    growth = (
        round(counts_by_week[-1] / counts_by_week[-2] - 1.0, 3)
        if len(counts_by_week) >= 2 and counts_by_week[-2]
        else None
    )
    rates = {name: round(counts[name] / n, 4) for name in fact_names() if n and counts[name]}
    items = [item for name in sorted(rates, key=lambda f: -rates[f]) for item in examples[name]]
    return ClusterEvidence(
        cluster_id=cluster_id,
        traces=n,
        users=len(users),
        sessions=len(sessions),
        fact_rates=rates,
        trace_facts={tid: sorted({f.name for f in facts}) for tid, facts in per_trace.items()},
        items=items,
        route_mix=_shares(routes, n),
        healthy_route_mix={k: round(v, 4) for k, v in baseline.route_share.items()},
        tool_mix={k: round(v / total_tools, 4) for k, v in tools.items()},
        healthy_tool_mix={k: round(v, 4) for k, v in baseline.tool_share.items()},
        error_types=dict(errors.most_common()),
        comments=comments[:10],
        latency_p50_ms=sorted(latencies)[len(latencies) // 2] if latencies else None,
        healthy_latency_p95_ms=baseline.latency_p95,
        weekly_counts=ordered_weeks,
        growth=growth,
        signal_kinds=dict(kinds.most_common()),
        detector_failures=dict(failed.most_common()),
    )


def _shares(counter: Counter[str], n: int) -> dict[str, float]:
    return {key: round(value / n, 4) for key, value in counter.most_common()} if n else {}


def _error_type(error: str | None) -> str:
    """'ValueError: since=...' -> 'ValueError'; free text -> its first words."""
    text = (error or "").strip().splitlines()[0] if error else ""
    head = text.split(":", 1)[0].strip()
    return head if head and len(head) <= 40 and " " not in head else " ".join(text.split()[:3])


def _iso_week(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"
