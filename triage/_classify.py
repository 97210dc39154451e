"""Offline root-cause classifiers: rules over the evidence, and a memory of human labels.

`RuleClassifier` scores each member trace from the facts that fired on it (a weight per
fact and root cause: the evidence each category's description names), lets every trace vote
for its best root cause, and gives the cluster the plurality: a mixed cluster gets the cause
most of its traces show. Confidence is the winning vote share, reduced when the cluster is
tiny, when few traces carry any evidence, and when a second cause is nearly as strong
(contradictory evidence, which the rationale states).

`NeighbourMemory` holds human-labelled clusters (their fact-rate vectors): a new cluster
whose vector is close enough (cosine) to a labelled one gets the human's answer. Every
correction a reviewer makes becomes an example.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from triage._evidence import ClusterEvidence

#: fact -> (root cause, weight): how strongly a fact on one trace points at a cause.
FACT_WEIGHTS: dict[str, tuple[str, float]] = {
    "direct_answer": ("routing_decision", 0.7),
    "router_fallback": ("routing_decision", 0.3),
    "needless_clarification": ("routing_decision", 0.9),
    "retrieval_low_scores": ("routing_decision", 0.8),
    "draft_missing": ("prompt_instruction", 0.9),
    "format_ignored": ("prompt_instruction", 0.85),
    "wrong_recipient": ("prompt_instruction", 0.9),
    # A name absent from the trace may still come from a system we cannot see (a CRM).
    "invented_name": ("prompt_instruction", 0.55),
    "citation_mismatch": ("prompt_instruction", 0.8),
    "citation_unretrieved": ("prompt_instruction", 0.7),
    "low_groundedness": ("retrieval_ranking", 0.45),
    "retrieval_near_ties": ("retrieval_ranking", 0.35),
    "context_dropped": ("context_construction", 0.8),
    "tool_argument_error": ("tool_arguments", 1.0),
    "refusal": ("missing_capability", 0.9),
    "unbacked_action_claim": ("missing_capability", 0.9),
    "action_request": ("missing_capability", 0.8),
    "capability_complaint": ("missing_capability", 0.8),
    "history_ignored": ("memory_multiturn", 0.8),
    "stale_citation": ("data_freshness", 1.0),
    "superseded_retrieved": ("data_freshness", 0.6),
    "step_timeout": ("latency_infra", 1.0),
    "step_error_other": ("latency_infra", 0.7),
    # The tool refused the call (not found, not allowed in this state): a wrong call.
    "tool_rejected_call": ("tool_arguments", 0.5),
    "guardrail_block": ("missing_capability", 0.8),
    "latency_outlier": ("latency_infra", 0.5),
    "judge_disagreement": ("evaluation_scorer", 0.85),
}

#: The cause given when no fact points anywhere: correct inputs, wrong answer.
RESIDUAL = "model_limitation"
#: A trace votes only when its best cause reaches this score.
MIN_TRACE_SCORE = 0.3


class Classification(BaseModel):
    """A root-cause decision with its confidence and how it was reached."""

    model_config = ConfigDict(extra="forbid")

    root_cause: str
    confidence: float = Field(ge=0, le=1)
    #: rules | memory | llm
    method: str
    scores: dict[str, float] = Field(default_factory=dict)
    contradictions: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    severity_hint: str | None = None


class Classifier(Protocol):
    """Assigns a root cause to a cluster from its evidence.

    Returns ``None`` when it has no opinion (the next classifier decides). Must not raise on
    odd evidence; it may only raise for programming errors.
    """

    def classify(self, evidence: ClusterEvidence) -> Classification | None: ...


def trace_scores(facts: Sequence[str]) -> dict[str, float]:
    """Per root cause: the strongest fact's weight plus a fifth of the others'."""
    weights: dict[str, list[float]] = {}
    for fact in facts:
        mapped = FACT_WEIGHTS.get(fact)
        if mapped is not None:
            weights.setdefault(mapped[0], []).append(mapped[1])
    return {cause: round(max(ws) + 0.2 * (sum(ws) - max(ws)), 4) for cause, ws in weights.items()}


def classify_trace(facts: Sequence[str]) -> str | None:
    """The root cause one trace's facts point at, or None when they point nowhere."""
    scores = trace_scores(facts)
    if not scores:
        return None
    cause, best = max(scores.items(), key=lambda kv: (kv[1], kv[0]))
    return cause if best >= MIN_TRACE_SCORE else None


class RuleClassifier:
    """Plurality of per-trace rule votes (see the module docstring)."""

    def classify(self, evidence: ClusterEvidence) -> Classification:
        votes: defaultdict[str, float] = defaultdict(float)
        for facts in evidence.trace_facts.values():
            scores = trace_scores(facts)
            if not scores:
                continue
            cause, best = max(scores.items(), key=lambda kv: (kv[1], kv[0]))
            if best >= MIN_TRACE_SCORE:
                votes[cause] += best
        n = max(evidence.traces, 1)
        notes: list[str] = []
        if n == 1:
            notes.append("a single trace: the pattern is not established yet")
        if not votes:
            return Classification(
                root_cause=RESIDUAL,
                confidence=0.2 if n > 1 else 0.1,
                method="rules",
                notes=[
                    *notes,
                    "no evidence points at a configurable component: route, retrieval, tools "
                    "and context look like healthy traffic, so the model is suspected",
                ],
            )
        total = sum(votes.values())
        ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
        cause, top = ranked[0]
        share = top / total
        voters = sum(1 for facts in evidence.trace_facts.values() if trace_scores(facts))
        coverage = voters / n
        confidence = share * math.sqrt(coverage) * min(1.0, math.sqrt(n / 5))
        contradictions: list[str] = []
        if len(ranked) > 1:
            second, runner = ranked[1]
            if runner >= 0.6 * top and runner / total >= 0.25:
                contradictions.append(
                    f"evidence is split: {cause} ({top / total:.0%} of the weight) against "
                    f"{second} ({runner / total:.0%})"
                )
                confidence *= 0.6
        if n == 1:
            confidence = min(confidence, 0.5)
        return Classification(
            root_cause=cause,
            confidence=round(min(1.0, confidence), 3),
            method="rules",
            scores={k: round(v / total, 3) for k, v in ranked},
            contradictions=contradictions,
            notes=notes,
        )


class LabelledExample(BaseModel):
    """A cluster a human labelled: its fact-rate vector and the human's answer."""

    model_config = ConfigDict(extra="forbid")

    cluster_id: str
    vector: list[float]
    root_cause: str
    severity: str | None = None
    reviewer: str = ""


class NeighbourMemory:
    """Nearest human-labelled cluster by cosine similarity of fact rates."""

    def __init__(self, examples: Sequence[LabelledExample], *, threshold: float = 0.92) -> None:
        self.examples = list(examples)
        self.threshold = threshold

    def nearest(self, vector: Sequence[float]) -> tuple[LabelledExample, float] | None:
        best: tuple[LabelledExample, float] | None = None
        for example in self.examples:
            sim = cosine(vector, example.vector)
            if best is None or sim > best[1]:
                best = (example, sim)
        return best

    def classify(self, evidence: ClusterEvidence) -> Classification | None:
        found = self.nearest(evidence.vector())
        if found is None or found[1] < self.threshold:
            return None
        example, sim = found
        return Classification(
            root_cause=example.root_cause,
            confidence=round(min(0.95, sim), 3),
            method="memory",
            notes=[
                f"as a reviewer labelled cluster {example.cluster_id} "
                f"(evidence similarity {sim:.2f})"
            ],
            severity_hint=example.severity,
        )


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def component_of(root_cause: str, owners: Mapping[str, str]) -> str:
    return owners.get(root_cause, "unknown")
