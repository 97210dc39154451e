"""The triage agent as a LangGraph graph.

    gather_evidence -> classify -> assess -> recommend -> rationale

*classify* asks, in order: the nearest-neighbour memory of human labels (a reviewer's answer
for a near-twin cluster wins), then any `Classifier` a team plugs in, then the LLM node when
the ``triage`` stage has a model, then the deterministic rule classifier. An LLM failure
(reply still invalid after its repair turn, provider errors) falls back to the rules and the
record's source says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from flywheel.llm import LLMClient
from triage._classify import (
    Classification,
    Classifier,
    NeighbourMemory,
    RuleClassifier,
    fact_weights,
)
from triage._evidence import ClusterEvidence, EvidenceItem, MemberTrace, gather_evidence
from triage._facts import Baseline
from triage._fixability import assess_fixability
from triage._llm import ask_model
from triage._naming import cluster_name
from triage._priority import prioritise
from triage._record import EvidenceRef, TriageRecord
from triage._review import adjust_for_input, review_reasons
from triage._severity import SeverityAssessment, assess_severity
from triage._step import failing_step, sample_evenly, step_pattern
from triage._taxonomy import Taxonomy, TriageConfig

_RANK = {"S1": 1, "S2": 2, "S3": 3, "S4": 4}


class TriageState(TypedDict, total=False):
    cluster_id: str
    cluster_run_id: int | None
    members: Sequence[MemberTrace]
    evidence: ClusterEvidence
    classification: Classification
    source: str
    llm_error: str | None
    llm_evidence: list[int]
    llm_severity: str | None
    input_reasons: list[str]
    severity: SeverityAssessment
    record: TriageRecord


class TriageAgent:
    """Builds the graph once; `triage` runs it on one cluster's member traces."""

    def __init__(
        self,
        *,
        taxonomy: Taxonomy | None = None,
        config: TriageConfig | None = None,
        memory: NeighbourMemory | None = None,
        llm: LLMClient | None = None,
        baseline: Baseline | None = None,
        sessions_seen: int = 0,
        classifiers: Sequence[Classifier] = (),
    ) -> None:
        self.config = config or TriageConfig()
        self.taxonomy = taxonomy or Taxonomy.from_config(self.config)
        self.memory = memory or NeighbourMemory([], threshold=self.config.neighbour_similarity)
        self.llm = llm if llm is not None and llm.is_configured("triage") else None
        self.baseline = baseline or Baseline()
        self.sessions_seen = sessions_seen
        self.rules = RuleClassifier()
        #: A team's own classifiers, asked after the memory and before the LLM and the rules.
        self.classifiers = list(classifiers)
        self.graph = self._build()

    def _build(self) -> Any:
        from langgraph.graph import END, START, StateGraph

        graph: Any = StateGraph(TriageState)
        graph.add_node("gather_evidence", self._gather)
        graph.add_node("classify", self._classify)
        graph.add_node("assess", self._assess)
        graph.add_node("recommend", self._recommend)
        graph.add_node("rationale", self._rationale)
        graph.add_edge(START, "gather_evidence")
        graph.add_edge("gather_evidence", "classify")
        graph.add_edge("classify", "assess")
        graph.add_edge("assess", "recommend")
        graph.add_edge("recommend", "rationale")
        graph.add_edge("rationale", END)
        return graph.compile()

    def triage(
        self,
        cluster_id: str,
        members: Sequence[MemberTrace],
        *,
        cluster_run_id: int | None = None,
    ) -> TriageRecord:
        state = self.graph.invoke(
            {"cluster_id": cluster_id, "cluster_run_id": cluster_run_id, "members": members}
        )
        record: TriageRecord = state["record"]
        return record

    # -- nodes -------------------------------------------------------------------------

    def _gather(self, state: TriageState) -> dict[str, Any]:
        evidence = gather_evidence(state["cluster_id"], state["members"], self.baseline)
        return {"evidence": evidence}

    def _classify(self, state: TriageState) -> dict[str, Any]:
        decided = self._decide(state)
        adjusted, reasons = adjust_for_input(decided["classification"], state["members"])
        return {**decided, "classification": adjusted, "input_reasons": reasons}

    def _decide(self, state: TriageState) -> dict[str, Any]:
        evidence = state["evidence"]
        remembered = self.memory.classify(evidence)
        if remembered is not None:
            return {"classification": remembered, "source": "offline", "llm_error": None}
        for classifier in self.classifiers:
            decided = classifier.classify(evidence)
            if decided is not None:
                self.taxonomy.get(decided.root_cause)  # a plugin must answer in the taxonomy
                return {"classification": decided, "source": "offline", "llm_error": None}
        if self.llm is not None:
            outcome = ask_model(self.llm, evidence, self.taxonomy)
            if outcome.reply is not None:
                reply = outcome.reply
                cited = [i for i in reply.evidence_indices if 0 <= i < len(evidence.items)]
                classification = Classification(
                    root_cause=reply.root_cause,
                    confidence=round(reply.confidence, 3),
                    method="llm",
                    notes=[f"model rationale: {reply.rationale}"],
                )
                rules = self.rules.classify(evidence)
                classification.contradictions.extend(rules.contradictions)
                if rules.root_cause != reply.root_cause:
                    classification.notes.append(
                        f"the offline rules would say {rules.root_cause} "
                        f"(confidence {rules.confidence:.2f})"
                    )
                return {
                    "classification": classification,
                    "source": "llm",
                    "llm_error": None,
                    "llm_evidence": cited,
                    "llm_severity": reply.severity,
                }
            rules = self.rules.classify(evidence)
            rules.notes.append(f"the LLM reply was unusable ({outcome.error}); rules decided")
            return {
                "classification": rules,
                "source": "llm→offline fallback",
                "llm_error": outcome.error,
            }
        return {"classification": self.rules.classify(evidence), "source": "offline"}

    def _assess(self, state: TriageState) -> dict[str, Any]:
        evidence = state["evidence"]
        assessed = assess_severity(evidence, users_seen=self.sessions_seen)
        hint = state["classification"].severity_hint or state.get("llm_severity")
        if hint in _RANK and _RANK[hint] != _RANK[assessed.severity]:
            # A reviewer's severity stands; a model may raise the evidence's severity one step.
            human = state["classification"].method == "memory"
            raised = max(_RANK[assessed.severity] - 1, _RANK[hint])
            chosen = _RANK[hint] if human else min(_RANK[assessed.severity], raised)
            if chosen != _RANK[assessed.severity]:
                who = "a reviewer" if human else "the model"
                assessed = assessed.model_copy(
                    update={
                        "severity": f"S{chosen}",
                        "reasons": [*assessed.reasons, f"{who} rated it {hint}"],
                    }
                )
        return {"severity": assessed}

    def _recommend(self, state: TriageState) -> dict[str, Any]:
        evidence = state["evidence"]
        classification = state["classification"]
        cause = self.taxonomy.get(classification.root_cause)
        fix_type = cause.fix_types[0]
        if "few_shot" in cause.fix_types and (
            evidence.fact_rates.get("format_ignored", 0)
            + evidence.fact_rates.get("draft_missing", 0)
            >= 0.3
        ):
            fix_type = "few_shot"  # a behaviour shown in an example is learnt better
        severity = state["severity"].severity
        weights = fact_weights()
        fixability = assess_fixability(
            cause,
            evidence,
            classification,
            taxonomy=self.taxonomy,
            review_below=self.config.review_below,
            weights=weights,
        )
        reasons = review_reasons(
            classification,
            evidence,
            state.get("input_reasons", []),
            review_below=self.config.review_below,
        )
        priority = prioritise(
            severity=severity,
            traces=evidence.traces,
            growth=evidence.growth,
            fixable=fixability.fixable,
        )
        items = self._evidence_items(evidence, classification, state.get("llm_evidence", []))
        sample = sample_evenly(state["members"])
        name, subject = cluster_name(
            evidence,
            cause.name,
            [m.trace.input_text for m in sample],
            weights,
            self.baseline.request_terms,
        )
        record = TriageRecord(
            cluster_id=state["cluster_id"],
            cluster_run_id=state.get("cluster_run_id"),
            root_cause=cause.name,
            component=cause.owner,
            severity=severity,
            priority=priority.score,
            priority_explanation=priority.explanation,
            fixable=fixability.fixable,
            handoff_reason="" if fixability.fixable else fixability.reason,
            review_reasons=reasons,
            name=name,
            confidence=classification.confidence,
            fix_type=fix_type,
            rationale="",
            evidence=[
                EvidenceRef(trace_id=it.trace_id, step_id=it.step_id, why=f"{it.fact}: {it.why}")
                for it in items
            ],
            source=state["source"],
            needs_review=classification.confidence < self.config.review_below,
            detail={
                "method": classification.method,
                "scores": classification.scores,
                "contradictions": classification.contradictions,
                "notes": classification.notes,
                "severity_reasons": state["severity"].reasons,
                "severity_shares": state["severity"].level_shares,
                "fact_rates": evidence.fact_rates,
                "vector": evidence.vector(),
                "traces": evidence.traces,
                "growth": evidence.growth,
                "weekly_counts": evidence.weekly_counts,
                "llm_error": state.get("llm_error"),
                "fixability": fixability.reason,
                "request_pattern": subject,
                "failing_step": step_pattern(
                    [failing_step(m.trace, m.signals) for m in sample],
                    total=len(state["members"]),
                ),
            },
        )
        return {"record": record}

    def _evidence_items(
        self, evidence: ClusterEvidence, classification: Classification, cited: Sequence[int]
    ) -> list[EvidenceItem]:
        supporting = {
            f for f, (cause, _) in fact_weights().items() if cause == classification.root_cause
        }
        chosen = [evidence.items[i] for i in cited]
        chosen += [it for it in evidence.items if it.fact in supporting and it not in chosen]
        chosen += [it for it in evidence.items if it not in chosen]
        if not chosen:
            # No fact fired: still point at the traces a reviewer should open.
            chosen = [
                EvidenceItem(
                    trace_id=tid, step_id=None, fact="member", why="member trace, no fact fired"
                )
                for tid in list(evidence.trace_facts)[:3]
            ]
        return chosen[: self.config.max_evidence]

    def _rationale(self, state: TriageState) -> dict[str, Any]:
        record = state["record"]
        evidence = state["evidence"]
        classification = state["classification"]
        cause = self.taxonomy.get(record.root_cause)
        supporting = [
            (fact, rate)
            for fact, rate in sorted(evidence.fact_rates.items(), key=lambda kv: -kv[1])
            if fact_weights().get(fact, ("", 0))[0] == record.root_cause
        ]
        parts = [
            f"Root cause {record.root_cause} (owner: {record.component}), confidence "
            f"{record.confidence:.2f}, decided by {classification.method}."
        ]
        if supporting:
            cites = []
            for fact, rate in supporting[:3]:
                example = next((it for it in evidence.items if it.fact == fact), None)
                where = (
                    f" e.g. trace {example.trace_id}"
                    + (f" step {example.step_id}" if example.step_id else "")
                    + f": {example.why}"
                    if example
                    else ""
                )
                cites.append(f"{fact} in {rate:.0%} of {evidence.traces} traces ({where.strip()})")
            parts.append("Evidence: " + "; ".join(cites) + ".")
        top_route = next(iter(evidence.route_mix), None)
        if top_route is not None:
            healthy = evidence.healthy_route_mix.get(top_route, 0.0)
            parts.append(
                f"Route '{top_route}' carries {evidence.route_mix[top_route]:.0%} of this cluster "
                f"vs {healthy:.0%} of healthy traffic."
            )
        if evidence.error_types:
            parts.append(
                "Errors: "
                + ", ".join(f"{k} x{v}" for k, v in list(evidence.error_types.items())[:3])
                + "."
            )
        parts.append(f"Severity {record.severity}: " + "; ".join(state["severity"].reasons) + ".")
        if record.fixable:
            parts.append(
                f"Fixable by configuration: try a {record.fix_type} fix "
                f"({record.detail.get('fixability', '')})."
            )
        else:
            parts.append(
                f"Not for the optimizers: hand to {cause.owner} ({record.fix_type}): "
                f"{record.handoff_reason}."
            )
        parts.extend(classification.contradictions)
        parts.extend(classification.notes)
        parts.extend(r for r in state.get("input_reasons", []) if r not in classification.notes)
        parts.append(f"Priority {record.priority}: {record.priority_explanation}.")
        return {"record": record.model_copy(update={"rationale": " ".join(parts)})}
