"""Triage against the store: triage the active clusters, record human labels, read them back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from flywheel.errors import UserError
from flywheel.llm import LLMClient
from flywheel.store import Store
from flywheel.store._tables import utcnow
from triage import _store
from triage._calibration import CalibrationPair
from triage._classify import LabelledExample, NeighbourMemory
from triage._evidence import gather_evidence
from triage._graph import TriageAgent
from triage._naming import unique_names
from triage._record import EvidenceRef, TriageRecord
from triage._taxonomy import Taxonomy, TriageConfig


class HumanLabel(BaseModel):
    """A reviewer's label as stored."""

    model_config = ConfigDict(extra="forbid")

    id: int
    cluster_id: str
    root_cause: str
    severity: str | None
    reviewer: str
    note: str
    created_at: datetime
    record_id: int | None


def neighbour_memory(store: Store, config: TriageConfig) -> NeighbourMemory:
    """Every cluster's latest human label, as examples for the nearest-neighbour memory."""
    latest: dict[str, dict[str, Any]] = {}
    for label in _store.all_labels(store):
        if label["features"].get("vector"):
            latest[label["cluster_id"]] = label
    examples = [
        LabelledExample(
            cluster_id=label["cluster_id"],
            vector=[float(x) for x in label["features"]["vector"]],
            root_cause=label["root_cause"],
            severity=label["severity"],
            reviewer=label["reviewer"],
        )
        for label in latest.values()
    ]
    return NeighbourMemory(examples, threshold=config.neighbour_similarity)


def build_agent(
    store: Store,
    *,
    config: TriageConfig | None = None,
    llm: LLMClient | None = None,
) -> TriageAgent:
    """An agent whose baseline, memory and reach come from ``store``."""
    config = config or TriageConfig()
    return TriageAgent(
        taxonomy=Taxonomy.from_config(config),
        config=config,
        memory=neighbour_memory(store, config),
        llm=llm,
        baseline=_store.healthy_baseline(store),
        sessions_seen=_store.users_seen(store),
    )


def triage_clusters(
    store: Store,
    *,
    config: TriageConfig | None = None,
    llm: LLMClient | None = None,
    cluster_ids: Sequence[str] | None = None,
    save: bool = True,
) -> list[TriageRecord]:
    """Triage the active clusters (or those named), save a record each, highest priority first."""
    agent = build_agent(store, config=config, llm=llm)
    made = []
    keywords: dict[str, list[str]] = {}
    for cluster in _store.active_clusters(store, cluster_ids):
        made.append(
            agent.triage(cluster.cluster_id, cluster.members, cluster_run_id=cluster.run_id)
        )
        keywords[cluster.cluster_id] = list(cluster.keywords)
    names = unique_names(
        {r.cluster_id: r.name for r in made},
        {r.cluster_id: r.detail.get("request_pattern") for r in made},
        keywords,
        taken={r.cluster_id: r.name for r in stored_records(store)} if cluster_ids else None,
    )
    records = []
    for triaged in made:
        record = triaged.model_copy(
            update={"name": names[triaged.cluster_id], "keywords": keywords[triaged.cluster_id]}
        )
        if save:
            record_id = _store.save_record(store, _row(record))
            record = record.model_copy(update={"record_id": record_id})
        records.append(record)
    if save:
        from flywheel.clustering import name_clusters

        name_clusters(store, {r.cluster_id: r.name for r in records})
    return sorted(records, key=lambda r: (-r.priority, r.cluster_id))


def _row(record: TriageRecord) -> dict[str, Any]:
    return {
        "cluster_id": record.cluster_id,
        "cluster_run_id": record.cluster_run_id,
        "created_at": utcnow(),
        "root_cause": record.root_cause,
        "component": record.component,
        "severity": record.severity,
        "priority": record.priority,
        "fixable": record.fixable,
        "confidence": record.confidence,
        "fix_type": record.fix_type,
        "source": record.source,
        "rationale": record.rationale,
        "evidence": {"items": [ref.model_dump(mode="json") for ref in record.evidence]},
        "detail": {
            **record.detail,
            "priority_explanation": record.priority_explanation,
            "needs_review": record.needs_review,
            "review_reasons": record.review_reasons,
            "handoff_reason": record.handoff_reason,
            "name": record.name,
            "keywords": record.keywords,
        },
    }


def stored_records(store: Store) -> list[TriageRecord]:
    """The newest record of every cluster, highest priority first."""
    out = []
    for row in _store.latest_records(store).values():
        detail = dict(row["detail"])
        out.append(
            TriageRecord(
                cluster_id=row["cluster_id"],
                cluster_run_id=row["cluster_run_id"],
                record_id=row["id"],
                root_cause=row["root_cause"],
                component=row["component"],
                severity=row["severity"],
                priority=row["priority"],
                fixable=row["fixable"],
                confidence=row["confidence"],
                fix_type=row["fix_type"],
                source=row["source"],
                rationale=row["rationale"],
                evidence=[EvidenceRef(**item) for item in row["evidence"].get("items", [])],
                priority_explanation=str(detail.pop("priority_explanation", "")),
                needs_review=bool(detail.pop("needs_review", False)),
                review_reasons=[str(r) for r in detail.pop("review_reasons", [])],
                handoff_reason=str(detail.pop("handoff_reason", "")),
                name=str(detail.pop("name", "")),
                keywords=[str(k) for k in detail.pop("keywords", [])],
                detail=detail,
            )
        )
    return sorted(out, key=lambda r: (-r.priority, r.cluster_id))


def label_cluster(
    store: Store,
    cluster_id: str,
    *,
    root_cause: str,
    severity: str | None = None,
    reviewer: str,
    note: str = "",
    config: TriageConfig | None = None,
) -> HumanLabel:
    """Record a reviewer's root cause (and severity) for a cluster, with who and when.

    An unknown root cause or severity is rejected with the list of valid ones. The cluster's
    evidence vector is stored with the label, so the next triage run finds it in memory.
    """
    config = config or TriageConfig()
    taxonomy = Taxonomy.from_config(config)
    taxonomy.get(root_cause)
    if severity is not None:
        severity = taxonomy.severity(severity).name
    if not reviewer.strip():
        raise UserError("a label needs a reviewer; pass --reviewer NAME (or set $USER)")
    if not _store.cluster_exists(store, cluster_id):
        raise UserError(f"no cluster '{cluster_id}'; list them with `flywheel clusters`")
    latest = _store.latest_records(store).get(cluster_id)
    vector = latest["detail"].get("vector") if latest else None
    if not vector:
        cluster = _store.active_clusters(store, [cluster_id])[0]
        vector = gather_evidence(
            cluster_id, cluster.members, _store.healthy_baseline(store)
        ).vector()
    created = utcnow()
    label_id = _store.save_label(
        store,
        {
            "cluster_id": cluster_id,
            "root_cause": root_cause,
            "severity": severity,
            "reviewer": reviewer.strip(),
            "note": note,
            "created_at": created,
            "record_id": latest["id"] if latest else None,
            "features": {"vector": vector},
        },
    )
    return HumanLabel(
        id=label_id,
        cluster_id=cluster_id,
        root_cause=root_cause,
        severity=severity,
        reviewer=reviewer.strip(),
        note=note,
        created_at=created,
        record_id=latest["id"] if latest else None,
    )


def human_labels(store: Store) -> list[HumanLabel]:
    return [
        HumanLabel(**{k: row[k] for k in HumanLabel.model_fields})
        for row in _store.all_labels(store)
    ]


def calibration_pairs(store: Store) -> list[CalibrationPair]:
    """(agent, human) pairs: each label against the agent's record the reviewer saw."""
    pairs = []
    for label in _store.all_labels(store):
        if label["record_id"] is None:
            continue
        record = _store.record_by_id(store, label["record_id"])
        if record is None:
            continue
        pairs.append(
            CalibrationPair(
                cluster_id=label["cluster_id"],
                agent=record["root_cause"],
                human=label["root_cause"],
                agent_severity=record["severity"],
                human_severity=label["severity"],
                source=record["source"],
                labelled_at=label["created_at"],
            )
        )
    return pairs
