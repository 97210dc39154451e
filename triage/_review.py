"""What limits a triage decision, as reasons a reviewer reads, and how much it lowers confidence.

Bad input never raises here: it becomes a reason and a lower confidence. A cluster of one
trace cannot establish a pattern; traces without steps hide the route, tools and retrieval;
steps without a type hide which of them is a tool or a search; agents without a name hide who
went wrong; evidence split between causes says the cluster may be two problems. A decision
under the review threshold goes on the "needs a human" list instead of to the optimizers.
"""

from __future__ import annotations

from collections.abc import Sequence

from flywheel.trace import StepType
from triage._classify import Classification
from triage._evidence import ClusterEvidence, MemberTrace

#: The most a one-trace cluster's confidence can be (under the default review threshold).
SINGLE_TRACE_CAP = 0.4
#: How much a trace without steps (or whose steps mostly have no type) counts against the
#: confidence: the evidence read from its text is still there, the structural half is not.
NO_STEPS_PENALTY = 0.6
UNTYPED_PENALTY = 0.6


def _untyped(member: MemberTrace) -> bool:
    """Most of the trace's steps have no type (read as ``other``) and no known raw type."""
    steps = member.trace.steps
    if not steps:
        return False
    untyped = sum(1 for s in steps if s.type is StepType.other and not getattr(s, "type_raw", None))
    return untyped * 2 > len(steps)


def _unnamed_agents(member: MemberTrace) -> bool:
    """A multi-agent trace (two agent steps or more) with an agent step that has no name."""
    agents = [s for s in member.trace.steps if s.type is StepType.agent]
    return len(agents) >= 2 and any(not (s.name or "").strip() for s in agents)


def adjust_for_input(
    classification: Classification, members: Sequence[MemberTrace]
) -> tuple[Classification, list[str]]:
    """The classification with its confidence lowered for what the traces lack, and why."""
    n = len(members)
    reasons: list[str] = []
    confidence = classification.confidence
    if n == 0:
        return classification.model_copy(update={"confidence": 0.0}), [
            "the cluster has no member traces"
        ]
    if n == 1:
        confidence = min(confidence, SINGLE_TRACE_CAP)
        reasons.append("a single trace: the pattern is not established yet")
    stepless = sum(1 for m in members if not m.trace.steps)
    if stepless:
        confidence *= 1 - NO_STEPS_PENALTY * stepless / n
        reasons.append(
            f"{stepless} of {n} traces have no steps: the route, tools and retrieval cannot "
            "be checked, only the text"
        )
    untyped = sum(1 for m in members if _untyped(m))
    if untyped:
        confidence *= 1 - UNTYPED_PENALTY * untyped / n
        reasons.append(
            f"most steps of {untyped} of {n} traces have no type: tool calls and searches "
            "cannot be told apart"
        )
    unnamed = sum(1 for m in members if _unnamed_agents(m))
    if unnamed:
        reasons.append(
            f"{unnamed} of {n} multi-agent traces have agents without a name: the agent that "
            "went wrong cannot be named"
        )
    updated = classification.model_copy(update={"confidence": round(confidence, 3)})
    return updated, reasons


def review_reasons(
    classification: Classification,
    evidence: ClusterEvidence,
    input_reasons: Sequence[str],
    *,
    review_below: float,
) -> list[str]:
    """Why a human should look at this decision (empty: nothing stands out)."""
    reasons: list[str] = []
    if classification.confidence < review_below:
        reasons.append(
            f"confidence {classification.confidence:.2f} is under the review threshold "
            f"{review_below:.2f}"
        )
    reasons.extend(input_reasons)
    reasons.extend(classification.contradictions)
    if classification.method == "rules" and not classification.scores:
        reasons.append("no symptom points at a component: the model is only suspected")
    if evidence.detector_failures:
        failed = ", ".join(sorted(evidence.detector_failures))
        reasons.append(f"detectors failed on some traces and were skipped: {failed}")
    return reasons
