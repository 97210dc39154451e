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

from flywheel.detectors import default_registry
from triage._evidence import ClusterEvidence
from triage._facts import TRIAGE_FACTS


def fact_weights() -> dict[str, tuple[str, float]]:
    """fact -> (root cause, weight): how strongly a fact on one trace points at a cause. The
    detectors' contracts declare theirs (`flywheel.detectors`, plugins included); triage adds
    its own facts'."""
    weights = {
        symptom: (evidence.cause, evidence.weight)
        for symptom, evidence in default_registry().evidence().items()
        if evidence.cause is not None and evidence.weight > 0
    }
    for fact, (cause, weight) in TRIAGE_FACTS.items():
        if cause is not None and weight > 0:
            weights[fact] = (cause, weight)
    return weights


#: A judge's doubt about itself counts against the scorer only when judges alone flagged the
#: trace: a user's complaint or a failed step says the failure is real.
SCORER_NEEDS = "judge_only"
SCORER_CAUSE = "evaluation_scorer"

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
    judged_only = SCORER_NEEDS in facts
    table = fact_weights()
    for fact in facts:
        mapped = table.get(fact)
        if mapped is not None and (mapped[0] != SCORER_CAUSE or judged_only):
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
