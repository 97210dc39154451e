"""Severity from evidence (S1 harmful … S4 cosmetic), never from a category's name.

Each member trace gets an impact level from the facts that fired on it: *harmful* when the
answer addresses an invented person (privacy, wrong recipient) or claims an action nobody
performed, or when money / safety / privacy terms meet wrong content; *fails* when the core
task did not happen (errors, refusals, missing drafts, needless clarification, stale or
unsupported answers, user complaints); *degraded* when the answer is usable but off (format,
citation, latency); *cosmetic* when only a judge that disagrees with itself or the user
flagged it. The cluster takes the most severe level reached by at least ``min_share`` of its
traces (``harm_share`` for harm: a wrong recipient in one email of ten is already S1), or by
half of them counting the more severe levels; a failing cluster that reaches many sessions
(``many_users_share`` of the sessions seen) "blocks a core task for many" and is S1.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from triage._evidence import ClusterEvidence

_HARMFUL = frozenset({"wrong_recipient", "unbacked_action_claim"})
_WRONG_CONTENT = frozenset(
    {"stale_source", "citation_mismatch", "citation_not_retrieved", "tool_argument_error"}
)
_FAILS = frozenset(
    {
        "step_timeout",
        "tool_timeout",
        "tool_argument_error",
        "tool_arguments_off_schema",
        "step_error_other",
        "infrastructure_error",
        "tool_rejected_call",
        "blocked_by_guardrail",
        "refusal",
        "action_request",
        "draft_missing",
        "unknown_addressee",
        "needless_clarification",
        "direct_answer",
        "stale_source",
        "citation_not_retrieved",
        "history_ignored",
        "history_missing",
        "context_dropped",
        "low_groundedness",
        "negative_feedback",
        "capability_complaint",
    }
)
_DEGRADED = frozenset(
    {
        "format_ignored",
        "citation_mismatch",
        "retrieval_low_scores",
        "latency_outlier",
        "cost_outlier",
        "superseded_retrieved",
        "retrieval_near_ties",
        "router_fallback",
    }
)


class SeverityAssessment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: str
    reasons: list[str]
    level_shares: dict[str, float]


def trace_level(facts: Sequence[str]) -> int:
    """1 harmful, 2 core task fails, 3 degraded, 4 cosmetic."""
    names = set(facts)
    if names & _HARMFUL or ("harm_terms" in names and names & _WRONG_CONTENT):
        return 1
    if names & _FAILS:
        return 2
    if names & _DEGRADED:
        return 3
    return 4


def assess_severity(
    evidence: ClusterEvidence,
    *,
    users_seen: int = 0,  # sessions seen in the store
    min_share: float = 0.25,
    harm_share: float = 0.1,
    many_users_share: float = 0.25,
) -> SeverityAssessment:
    n = max(len(evidence.trace_facts), 1)
    counts = dict.fromkeys((1, 2, 3, 4), 0)
    for facts in evidence.trace_facts.values():
        counts[trace_level(facts)] += 1
    shares = {f"S{level}": round(count / n, 3) for level, count in counts.items()}
    reasons: list[str] = []
    cumulative = 0.0
    chosen = 4
    for level in (1, 2, 3, 4):
        cumulative += counts[level] / n
        needed = harm_share if level == 1 else min_share
        if counts[level] / n >= needed or cumulative >= 0.5:
            chosen = level
            break
    labels = {1: "harmful", 2: "the core task fails", 3: "degraded but usable", 4: "cosmetic"}
    reasons.append(
        f"{counts[chosen] / n:.0%} of the traces are {labels[chosen]} "
        f"(S1 {shares['S1']:.0%}, S2 {shares['S2']:.0%}, S3 {shares['S3']:.0%}, "
        f"S4 {shares['S4']:.0%})"
    )
    if chosen == 1:
        harmful = [
            f for f in ("wrong_recipient", "unbacked_action_claim") if f in evidence.fact_rates
        ]
        if harmful:
            reasons.append("harm evidence: " + ", ".join(harmful))
    if chosen == 2 and users_seen and evidence.sessions / users_seen >= many_users_share:
        chosen = 1
        reasons.append(
            f"blocks a core task for many: {evidence.sessions} of {users_seen} sessions "
            f"({evidence.sessions / users_seen:.0%})"
        )
    return SeverityAssessment(severity=f"S{chosen}", reasons=reasons, level_shares=shares)
