"""The app's view of triage: root cause, severity, owner, priority per cluster; human labels.

Triage owns all of it (`triage.stored_records`, `triage.label_cluster`, `triage.human_labels`,
the taxonomy); this adapter is the one place the pages touch it. A reviewer's correction of
root cause and severity goes through `triage.label_cluster` (a human label: it feeds triage's
calibration and its nearest-neighbour memory) and into the audit log. `triage.label_cluster`
has no owner field, so an owner that differs from the one the taxonomy gives the corrected
root cause is kept in the label's audit record (``detail.owner``, with ``detail.label_id``):
stored and shown, but not part of triage's calibration.

A cluster shows the reviewer's label while the triage record the reviewer saw is still the
newest; once triage runs again (it learns from the label), its new record is shown.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import select

from flywheel.errors import UserError
from flywheel.store import Store
from triage import (
    HumanLabel,
    Taxonomy,
    human_labels,
    label_cluster,
    load_triage_config,
    stored_records,
)
from ui.approvals._audit import record_event
from ui.approvals._rules import check_label
from ui.approvals._users import User
from ui.approvals.tables import AuditRecordRow

SEVERITIES = ("S1", "S2", "S3", "S4")


class TriageView(BaseModel):
    cluster_id: str
    root_cause: str
    severity: str
    owner: str
    priority: float | None = None
    fixable: bool | None = None
    #: The cluster's readable name (triage's), and why it is not for the optimizers.
    name: str = ""
    handoff_reason: str = ""
    confidence: float | None = None
    #: Under the review threshold: on the "needs a human" list, never sent to the optimizers.
    needs_review: bool = False
    review_reasons: list[str] = Field(default_factory=list)
    rationale: str = ""
    evidence: list[str] = Field(default_factory=list)
    #: The traces the evidence cites, in order, each once (for links to them).
    evidence_traces: list[str] = Field(default_factory=list)
    record_id: int | None = None
    #: Who corrected this triage (root cause / severity / owner), when a human label stands.
    corrected_by: str | None = None
    #: What the triage agent said before the correction ("root cause, severity, owner").
    triage_said: str | None = None


def triage_available() -> bool:
    return True


def taxonomy(project_root: Path) -> Taxonomy:
    return Taxonomy.from_config(load_triage_config(project_root))


def owners(names: Taxonomy) -> list[str]:
    return sorted({names.root_causes[n].owner for n in names.names})


def owner_corrections(store: Store) -> dict[int, str]:
    """Owners reviewers set against the taxonomy's default, by triage label id."""
    query = (
        select(AuditRecordRow.detail)
        .where(AuditRecordRow.action == "label")
        .order_by(AuditRecordRow.id)
    )
    found: dict[int, str] = {}
    with store.engine.connect() as conn:
        for detail in conn.execute(query).scalars():
            if detail and detail.get("owner") and detail.get("label_id") is not None:
                found[int(detail["label_id"])] = str(detail["owner"])
    return found


def _agent_views(store: Store) -> dict[str, TriageView]:
    return {
        record.cluster_id: TriageView(
            cluster_id=record.cluster_id,
            root_cause=record.root_cause,
            severity=record.severity,
            owner=record.component,
            priority=record.priority,
            fixable=record.fixable,
            name=record.name,
            handoff_reason=record.handoff_reason,
            confidence=record.confidence,
            needs_review=record.needs_review,
            review_reasons=record.review_reasons,
            rationale=record.rationale,
            evidence=[
                f"{ref.trace_id}{'/' + ref.step_id if ref.step_id else ''}: {ref.why}"
                for ref in record.evidence
            ],
            evidence_traces=list(dict.fromkeys(ref.trace_id for ref in record.evidence)),
            record_id=record.record_id,
        )
        for record in stored_records(store)
    }


def _corrected(view: TriageView, label: HumanLabel, owner: str) -> TriageView:
    return view.model_copy(
        update={
            "root_cause": label.root_cause,
            "severity": label.severity or view.severity,
            "owner": owner,
            "corrected_by": label.reviewer,
            "triage_said": f"{view.root_cause}, {view.severity}, owner {view.owner}",
        }
    )


def triage_views(store: Store, names: Taxonomy | None = None) -> dict[str, TriageView]:
    """Each cluster's triage as a reviewer should see it; empty while triage has not run."""
    names = names or Taxonomy.from_config(None)
    views = _agent_views(store)
    latest: dict[str, HumanLabel] = {}
    for label in human_labels(store):
        latest[label.cluster_id] = label
    corrections = owner_corrections(store) if latest else {}
    for cluster_id, label in latest.items():
        view = views.get(cluster_id)
        if view is None or label.record_id != view.record_id:
            continue  # triage ran again since: its new record (which learned from it) stands
        cause = names.root_causes.get(label.root_cause)
        owner = corrections.get(label.id) or (cause.owner if cause else view.owner)
        views[cluster_id] = _corrected(view, label, owner)
    return views


def correct_triage(
    store: Store,
    project_root: Path,
    cluster_id: str,
    user: User,
    *,
    root_cause: str,
    severity: str,
    owner: str | None = None,
    note: str = "",
) -> HumanLabel:
    """A reviewer's root cause, severity and owner for a cluster: a human label, audited.

    ``owner`` None (or the owner the taxonomy gives ``root_cause``) is no owner correction.
    """
    check_label(user)
    config = load_triage_config(project_root)
    names = Taxonomy.from_config(config)
    default_owner = names.get(root_cause).owner
    if owner is not None and owner not in owners(names):
        raise UserError(f"unknown owner '{owner}'; valid owners: {', '.join(owners(names))}")
    label = label_cluster(
        store,
        cluster_id,
        root_cause=root_cause,
        severity=severity,
        reviewer=user.name,
        note=note,
        config=config,
    )
    record_event(
        store,
        actor=user.name,
        action="label",
        subject=cluster_id,
        detail={
            "label_id": label.id,
            "root_cause": label.root_cause,
            "severity": label.severity,
            "owner": owner if owner is not None and owner != default_owner else None,
            "note": note,
        },
    )
    return label
