"""Fixability: can a change the optimizers make remove this cluster, and if not, who owns it?

The optimizers change configuration only: prompts, routing rules, few-shot examples and tool
descriptions. A cluster is fixable when all of these hold:

1. its root cause is one of those (`RootCause.optimizer_fixable`);
2. a human need not look first: its confidence is at or above ``review_below`` (an optimizer
   night spent on a guess is a night lost, and a wrong "fixable" hides the cluster from the
   owner who could fix it);
3. the evidence is the kind configuration fixes: most of the traces that point at the cause
   carry one of the cause's ``config_evidence`` facts (for tool arguments: a rejection about
   the arguments' shape, not a tool that is missing, not allowed or down), and it is recorded
   in the traces: what a person wrote about the cause (`triage._complaints`) or a prior (a
   failed follow-up turn) may name the cause, but the optimizers act on a recorded symptom;
4. the evidence is not split with a cause configuration cannot fix (a quarter or more of the
   weight pointing at, say, an outage means a prompt change would at best fix part of it).

A reviewer's label (the nearest-neighbour memory) stands for 3 and 4: the human saw the
traces. Every "no" carries the owner and a one-line reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from triage._classify import Classification
from triage._complaints import COMPLAINT_CAUSES
from triage._evidence import ClusterEvidence
from triage._taxonomy import RootCause, Taxonomy

#: Facts that name a cause without a trace recording it: people's comments, and priors.
HEARSAY = frozenset({*COMPLAINT_CAUSES, "follow_up_turn"})
#: Share of the cause's traces that must carry configuration-shaped evidence.
CONFIG_EVIDENCE_SHARE = 0.5
#: A cause configuration cannot fix holding this share of the evidence weight splits it.
SPLIT_SHARE = 0.25


class Fixability(BaseModel):
    """Whether the optimizers may try this cluster; else who owns it and why, in a line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fixable: bool
    owner: str
    reason: str


def assess_fixability(
    cause: RootCause,
    evidence: ClusterEvidence,
    classification: Classification,
    *,
    taxonomy: Taxonomy,
    review_below: float,
    weights: Mapping[str, tuple[str, float]],
) -> Fixability:
    """The fixability of a cluster whose root cause is ``cause`` (rules in the module doc)."""
    if not cause.optimizer_fixable:
        return Fixability(fixable=False, owner=cause.owner, reason=cause.reason_to_hand_off())
    if classification.confidence < review_below:
        return Fixability(
            fixable=False,
            owner=cause.owner,
            reason=f"needs a human first: confidence {classification.confidence:.2f} is under "
            f"{review_below:.2f}, so the optimizers leave it alone",
        )
    if classification.method == "memory":
        return Fixability(
            fixable=True, owner=cause.owner, reason="a reviewer labelled a near-twin cluster"
        )
    pointing = {fact for fact, (name, _) in weights.items() if name == cause.name}
    shaped = set(cause.config_evidence) or (pointing - HEARSAY)
    with_cause = [facts for facts in evidence.trace_facts.values() if pointing & set(facts)]
    if not with_cause:
        return Fixability(
            fixable=False,
            owner=cause.owner,
            reason=f"no trace shows a {cause.name} symptom a configuration change would "
            "remove; a human confirms the cause first",
        )
    share = sum(1 for facts in with_cause if shaped & set(facts)) / len(with_cause)
    if share < CONFIG_EVIDENCE_SHARE:
        return Fixability(
            fixable=False,
            owner=cause.owner,
            reason=f"{cause.reason_to_hand_off()} ({share:.0%} of its traces show "
            f"{' or '.join(sorted(shaped))})",
        )
    for other, weight_share in classification.scores.items():
        known = taxonomy.root_causes.get(other)
        if known is None or known.optimizer_fixable or weight_share < SPLIT_SHARE:
            continue
        return Fixability(
            fixable=False,
            owner=cause.owner,
            reason=f"evidence is split: {weight_share:.0%} of it points at {other} "
            f"(owner {known.owner}), which configuration cannot fix",
        )
    fixes = " or ".join(cause.fix_types)
    return Fixability(
        fixable=True,
        owner=cause.owner,
        reason=f"{share:.0%} of the traces showing {cause.name} carry evidence a {fixes} "
        "change can remove",
    )
