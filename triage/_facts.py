"""Facts about one failing trace: the core's detections, plus what only triage can judge.

The symptoms themselves (a timeout, a stale source, a refusal, earlier turns ignored...) come
from the one registry of detectors in `flywheel.detectors`, with the root cause each is
evidence for. Triage adds the facts that need more than the trace: a comparison with healthy
traffic (`Baseline`: route mix, latency, cost, retrieval scores) and the failure signals
(flagged by judges only, negative user feedback). Every fact names the step (or the trace,
``step_id=None``) that carries it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flywheel.detectors import (
    Detection,
    DetectorFailure,
    TraceView,
    asks_to_clarify,
    cited_ids,
    default_registry,
    detect,
    names_subject,
)
from flywheel.trace import (
    FailureSignal,
    Feedback,
    FeedbackKind,
    FeedbackSource,
    StepType,
    Trace,
)
from triage._complaints import COMPLAINT_CAUSES, complaint_causes
from triage._requests import request_terms

#: Facts only triage emits (they compare with healthy traffic or read the failure signals),
#: with the root cause each is evidence for and its weight (None: context, no cause).
TRIAGE_FACTS: dict[str, tuple[str | None, float]] = {
    "direct_answer": ("routing_decision", 0.7),
    "retrieval_low_scores": ("routing_decision", 0.8),
    "latency_outlier": ("latency_infra", 0.5),
    # A follow-up turn that failed with nothing else pointing anywhere: the earlier turns are
    # the first suspect (a prior, weaker than any symptom).
    "follow_up_turn": ("memory_multiturn", 0.4),
    "cost_outlier": (None, 0.0),
    # What the people who saw the answer say the cause was (`triage._complaints`).
    **{fact: (cause, weight) for fact, (cause, weight, _) in COMPLAINT_CAUSES.items()},
    "judge_only": (None, 0.0),
    "judge_against_people": ("evaluation_scorer", 0.9),
    "negative_feedback": (None, 0.0),
}


#: A failed follow-up points at the earlier turns only where follow-ups are this rare in
#: healthy traffic (where most conversations are follow-ups, being one says nothing).
FOLLOW_UP_RARE = 0.2


def fact_names() -> tuple[str, ...]:
    """Every fact, in a fixed order (the feature vector of a cluster): the registered
    detectors' symptoms (plugins included), then triage's own."""
    return (*default_registry().symptoms(), *TRIAGE_FACTS)


@dataclass(frozen=True)
class Fact:
    """One fact fired on one trace: which, where (step id or None for the trace), and why."""

    name: str
    step_id: str | None
    why: str


@dataclass
class Baseline:
    """Healthy traffic: what the facts compare a failing trace with."""

    traces: int = 0
    route_share: dict[str, float] = field(default_factory=dict)
    tool_share: dict[str, float] = field(default_factory=dict)
    latency_p95: float | None = None
    cost_p95: float | None = None
    top_score_median: float | None = None
    citation_rate: float = 0.0
    #: Share of healthy requests carrying each content word or pair (`request_terms`).
    request_terms: dict[str, float] = field(default_factory=dict)
    #: Share of healthy traces that are follow-up turns (carry earlier turns).
    follow_up_share: float = 0.0

    @classmethod
    def from_traces(cls, traces: Iterable[Trace]) -> Baseline:
        routes: Counter[str] = Counter()
        tools: Counter[str] = Counter()
        latencies: list[float] = []
        costs: list[float] = []
        tops: list[float] = []
        cited = searched = n = follow_ups = 0
        terms: Counter[str] = Counter()
        for trace in traces:
            n += 1
            terms.update(request_terms(trace.input_text))
            routes[trace.route or "(none)"] += 1
            tools.update(s.name for s in trace.steps if s.type is StepType.tool)
            if trace.latency_ms is not None:
                latencies.append(trace.latency_ms)
            if trace.cost_usd is not None:
                costs.append(trace.cost_usd)
            view = TraceView(trace)
            follow_ups += bool(view.history)
            docs = view.retrieval.documents
            scores = [d.score for d in docs if d.score is not None]
            if scores:
                tops.append(max(scores))
            if docs:
                searched += 1
                cited += bool(cited_ids(view.output, view.retrieval.by_id()))
        total_tools = sum(tools.values()) or 1
        return cls(
            traces=n,
            route_share={r: c / n for r, c in routes.items()} if n else {},
            tool_share={t: c / total_tools for t, c in tools.items()},
            latency_p95=_quantile(latencies, 0.95),
            cost_p95=_quantile(costs, 0.95),
            top_score_median=statistics.median(tops) if tops else None,
            citation_rate=cited / searched if searched else 0.0,
            request_terms={t: c / n for t, c in terms.items()} if n else {},
            follow_up_share=follow_ups / n if n else 0.0,
        )


def _quantile(values: Sequence[float], q: float) -> float | None:
    if len(values) < 5:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class TraceFacts:
    """The facts of one trace, the detections they came from, and detectors that failed."""

    facts: list[Fact]
    detections: list[Detection]
    failures: list[DetectorFailure]


def trace_facts(trace: Trace, signals: Sequence[FailureSignal], baseline: Baseline) -> list[Fact]:
    """Every fact that fires on ``trace`` (a failing trace, with its failure signals)."""
    return read_trace(trace, signals, baseline).facts


def read_trace(
    trace: Trace,
    signals: Sequence[FailureSignal],
    baseline: Baseline,
    detections: Sequence[Detection] | None = None,
) -> TraceFacts:
    """The facts of ``trace``: its detections (run now unless given) and triage's own."""
    failures: list[DetectorFailure] = []
    if detections is None:
        run = detect(trace, signals)
        detections, failures = run.detections, run.failures
    facts = [Fact(d.symptom, d.step_id, d.evidence) for d in detections]
    view = TraceView(trace, signals)
    facts.extend(_baseline_facts(view, baseline))
    facts.extend(_signal_facts(view))
    if view.history and baseline.follow_up_share <= FOLLOW_UP_RARE:
        facts.append(
            Fact("follow_up_turn", None, f"a follow-up: {len(view.history)} earlier turn(s)")
        )
    return TraceFacts(facts, list(detections), failures)


def _baseline_facts(view: TraceView, baseline: Baseline) -> list[Fact]:
    """Facts that compare the trace with healthy traffic."""
    facts: list[Fact] = []
    trace, router, request = view.trace, view.router, view.request
    docs = view.retrieval.documents
    searched_often = sum(share for name, share in baseline.route_share.items() if name != "(none)")
    route = trace.route
    if route is not None and not docs and not view.tool_steps and searched_often:
        rare = baseline.route_share.get(route, 0.0) < 0.5
        if not asks_to_clarify(view.output) and (rare or names_subject(request)):
            facts.append(
                Fact(
                    "direct_answer",
                    router.id if router else None,
                    f"answered on route '{route}' without retrieval or tools "
                    f"({baseline.route_share.get(route, 0.0):.0%} of healthy traffic)",
                )
            )
    scores = [d.score for d in docs if d.score is not None]
    median = baseline.top_score_median
    if scores and median and max(scores) < 0.6 * median and not names_subject(request):
        facts.append(
            Fact(
                "retrieval_low_scores",
                docs[0].step_id,
                f"searched a request naming no subject; top score {max(scores):.2f} vs healthy "
                f"median {median:.2f}",
            )
        )
    if baseline.latency_p95 and trace.latency_ms and trace.latency_ms > 2 * baseline.latency_p95:
        slow = max(trace.steps, key=lambda s: s.latency_ms or 0.0, default=None)
        facts.append(
            Fact(
                "latency_outlier",
                slow.id if slow else None,
                f"{trace.latency_ms:.0f} ms vs healthy p95 {baseline.latency_p95:.0f} ms",
            )
        )
    if baseline.cost_p95 and trace.cost_usd and trace.cost_usd > 2 * baseline.cost_p95:
        facts.append(
            Fact("cost_outlier", None, f"${trace.cost_usd:.4f} vs p95 ${baseline.cost_p95:.4f}")
        )
    return facts


def _praise(feedback: Feedback) -> bool:
    """A person's approval: a thumbs-up or positive event, or a rating in the top third."""
    if feedback.source is FeedbackSource.system or feedback.value is None:
        return False
    if feedback.kind is FeedbackKind.rating:
        scale = feedback.scale or 5.0
        return feedback.value >= 0.67 * scale
    return feedback.value > 0


def _signal_facts(view: TraceView) -> list[Fact]:
    """Facts read from the failure signals: who said the trace failed."""
    trace, signals = view.trace, view.signals
    facts: list[Fact] = []
    negative_user = any(
        (f.kind is FeedbackKind.thumb and (f.value or 0) < 0) or f.kind is FeedbackKind.correction
        for f in trace.feedback
    ) or any(s.kind.value in ("complaint", "negative_feedback", "low_rating") for s in signals)
    if negative_user:
        facts.append(Fact("negative_feedback", None, "the user gave negative feedback"))
    kinds = {s.kind.value for s in signals if not s.positive}
    comments = [f.comment for f in trace.feedback if f.comment and not _praise(f)]
    for fact, phrase in complaint_causes(comments).items():
        facts.append(Fact(fact, None, f"feedback says '{phrase}'"))
    if kinds <= {"low_score"} and "low_score" in kinds and not trace.errors:
        facts.append(Fact("judge_only", None, "flagged only by judge scores"))
        praised = [f for f in trace.feedback if _praise(f)]
        if praised or any(s.positive for s in signals):
            who = praised[0].source.value if praised else "a person"
            facts.append(
                Fact(
                    "judge_against_people",
                    None,
                    f"only a judge failed it, while {who} approved or liked it",
                )
            )
    return facts
