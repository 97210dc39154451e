"""The app's view of triage: root cause, severity, owner, priority per cluster; human labels.

Triage owns all of it (`triage.stored_records`, `triage.label_cluster`, the taxonomy); this
adapter is the one place the pages touch it. A reviewer's correction goes through
`triage.label_cluster` (which feeds calibration) and into the audit log.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from flywheel.store import Store
from triage import Taxonomy, label_cluster, load_triage_config, stored_records
from ui._audit import record_event
from ui._rules import check_label
from ui._users import User


class TriageView(BaseModel):
    cluster_id: str
    root_cause: str
    severity: str
    owner: str
    priority: float | None = None
    fixable: bool | None = None
    rationale: str = ""
    evidence: list[str] = Field(default_factory=list)


def triage_available() -> bool:
    return True


def taxonomy(project_root: Path) -> Taxonomy:
    return Taxonomy.from_config(load_triage_config(project_root))


def triage_views(store: Store) -> dict[str, TriageView]:
    """The newest triage record of each cluster; empty while triage has not run."""
    return {
        record.cluster_id: TriageView(
            cluster_id=record.cluster_id,
            root_cause=record.root_cause,
            severity=record.severity,
            owner=record.component,
            priority=record.priority,
            fixable=record.fixable,
            rationale=record.rationale,
            evidence=[
                f"{ref.trace_id}{'/' + ref.step_id if ref.step_id else ''}: {ref.why}"
                for ref in record.evidence
            ],
        )
        for record in stored_records(store)
    }


def correct_triage(
    store: Store,
    project_root: Path,
    cluster_id: str,
    user: User,
    *,
    root_cause: str,
    severity: str,
    note: str = "",
) -> None:
    """A reviewer's root cause and severity for a cluster: a human label, audited."""
    check_label(user)
    config = load_triage_config(project_root)
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
        detail={"root_cause": label.root_cause, "severity": label.severity, "note": note},
    )
