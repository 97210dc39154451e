"""`TriageRecord`: what the agent decided about one cluster, as stored and printed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Where a decision came from.
SOURCES = ("offline", "llm", "llm→offline fallback", "human")


class EvidenceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trace_id: str
    step_id: str | None = None
    why: str


class TriageRecord(BaseModel):
    """One cluster's root cause, owner, severity, priority and fixability, with evidence."""

    model_config = ConfigDict(extra="forbid")

    cluster_id: str
    root_cause: str
    component: str
    severity: str
    priority: float
    fixable: bool
    confidence: float = Field(ge=0, le=1)
    rationale: str
    evidence: list[EvidenceRef]
    source: str
    fix_type: str
    cluster_run_id: int | None = None
    record_id: int | None = None
    priority_explanation: str = ""
    needs_review: bool = False
    #: Why a human should look (confidence under the threshold, bad input, split evidence).
    review_reasons: list[str] = Field(default_factory=list)
    #: When not fixable: one line saying why the cluster goes to its owner, not the optimizers.
    handoff_reason: str = ""
    #: A name a reviewer understands, from the shared symptom, failing step and requests.
    name: str = ""
    #: The clustering's keywords, kept as a secondary line under the name.
    keywords: list[str] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)

    def needs_a_human(self) -> dict[str, Any]:
        """This record as an entry of the "needs a human" list, with its reasons."""
        return {
            "cluster_id": self.cluster_id,
            "name": self.name,
            "root_cause": self.root_cause,
            "confidence": self.confidence,
            "reasons": self.review_reasons
            or [f"confidence {self.confidence:.2f} is under the review threshold"],
        }

    def summary(self) -> dict[str, Any]:
        """The fields `flywheel triage --json` prints, with the failing-step pattern."""
        out = self.model_dump(
            mode="json",
            include={
                "cluster_id",
                "root_cause",
                "component",
                "severity",
                "priority",
                "fixable",
                "confidence",
                "rationale",
                "evidence",
                "source",
                "fix_type",
                "cluster_run_id",
                "record_id",
                "priority_explanation",
                "needs_review",
                "review_reasons",
                "handoff_reason",
                "name",
                "keywords",
            },
        )
        pattern = self.detail.get("failing_step")
        if isinstance(pattern, dict):
            out["failing_step"] = {k: v for k, v in pattern.items() if k != "per_trace"}
        return out
