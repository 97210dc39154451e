"""How cases arrive without anyone typing: shipped fixes join the regression set, new failure
clusters land in the backlog, and replay reads back every fixed failure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field
from sqlalchemy import select

from flywheel.config import DatasetsConfig
from flywheel.datasets._models import (
    EvalCase,
    Expected,
    Origin,
    Provenance,
    Role,
    SetVersion,
    ShippedCase,
    Tag,
)
from flywheel.datasets._sets import (
    case_id_for,
    find_case,
    load_cases,
    record_version,
    write_case,
)
from flywheel.datasets._tables import EvalCaseRow
from flywheel.errors import UserError
from flywheel.store import Store, StoredTrace
from flywheel.store._tables import ClusterMemberRow, ClusterRow, TraceRow, utcnow


class PromotionResult(BaseModel):
    """What `promote_shipped` did: cases added or moved into the regression set, and why not."""

    added: list[str] = Field(default_factory=list)
    moved: list[str] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict)
    version: SetVersion | None = None


class BacklogResult(BaseModel):
    clusters: list[str] = Field(default_factory=list)
    cases_added: int = 0
    version: SetVersion | None = None


def promote_shipped(
    store: Store,
    *,
    cluster_id: str,
    candidate_id: str,
    replay_run_id: str,
    approver: str,
    config_commit: str,
    cases: Sequence[ShippedCase],
    root_cause: str | None = None,
) -> PromotionResult:
    """A fix shipped: its cluster's failing cases join the regression set, with the validated
    candidate output as reference and full provenance. Idempotent (same input, no new version).

    Cases already in the holdout (frozen) or the blocking set (needs sign-off) stay where they
    are and are reported in ``skipped``.
    """
    if not cases:
        raise UserError(f"no cases to promote for cluster {cluster_id}: pass its failing cases")
    result = PromotionResult()
    provenance_base = {
        "cluster": cluster_id,
        "candidate": candidate_id,
        "replay_run": replay_run_id,
        "approver": approver,
        "config_commit": config_commit,
    }
    left: set[Role] = set()
    resolved: list[tuple[ShippedCase, StoredTrace]] = []
    for shipped in cases:
        try:
            resolved.append((shipped, store.get_trace(shipped.trace_id, shipped.source)))
        except UserError as exc:
            result.skipped[shipped.trace_id] = str(exc)
    with store.engine.begin() as conn:
        for shipped, stored in resolved:
            case_id = case_id_for(stored.trace.trace_id, stored.source)
            existing = find_case(conn, case_id)
            if existing is not None and existing.role in (Role.holdout, Role.blocking):
                result.skipped[shipped.trace_id] = f"in the {existing.role} set ({case_id})"
                continue
            case = _regression_case(
                stored, shipped, existing, case_id, cluster_id, root_cause, approver
            )
            case = case.model_copy(
                update={
                    "provenance": Provenance(trace_ids=(stored.trace.trace_id,), **provenance_base)
                }
            )
            unchanged = existing is not None and existing.digest == case.digest
            if unchanged and existing is not None and existing.role is Role.regression:
                continue
            write_case(conn, case)
            if existing is None:
                result.added.append(case_id)
            else:
                if existing.role is not Role.regression:
                    left.add(existing.role)
                result.moved.append(case_id)
        reason = f"shipped {candidate_id} for {cluster_id} (replay {replay_run_id})"
        result.version = record_version(conn, Role.regression, actor=approver, reason=reason)
        for role in sorted(left):
            record_version(conn, role, actor=approver, reason=reason)
    return result


def _regression_case(
    stored: StoredTrace,
    shipped: ShippedCase,
    existing: EvalCase | None,
    case_id: str,
    cluster_id: str,
    root_cause: str | None,
    approver: str,
) -> EvalCase:
    before = existing.expected if existing else Expected()
    tags = set(existing.tags if existing else ()) | {Tag.regression}
    failing = stored.trace.output_text or None
    return EvalCase(
        case_id=case_id,
        role=Role.regression,
        tags=tuple(sorted(tags)),
        inputs=stored.trace.input,
        origin=Origin(
            trace_id=stored.trace.trace_id,
            source=stored.source,
            cluster_id=cluster_id,
            root_cause=root_cause or (existing.origin.root_cause if existing else None),
            timestamp=stored.trace.timestamp,
        ),
        expected=Expected(
            reference_output=shipped.reference_output,
            checks=before.checks,
            rubric=before.rubric,
            reference_trace=shipped.reference_trace,
        ),
        failing_output=(existing.failing_output if existing else None) or failing,
        added_by=existing.added_by if existing else approver,
        added_at=existing.added_at if existing else utcnow(),
    )


def sync_backlog(
    store: Store,
    *,
    actor: str = "flywheel",
    config: DatasetsConfig | None = None,
    root_causes: Mapping[str, str] | None = None,
) -> BacklogResult:
    """Every active failure cluster with no eval case yet puts a few of its traces (exemplars
    first, then the strongest members) into the backlog. Idempotent.

    ``root_causes`` (cluster id -> category) comes from triage when the caller has it.
    """
    per_cluster = (config or DatasetsConfig()).backlog_cases_per_cluster
    result = BacklogResult()
    with store.engine.begin() as conn:
        covered = set(
            conn.execute(select(EvalCaseRow.cluster_id).where(EvalCaseRow.cluster_id.is_not(None)))
            .scalars()
            .all()
        )
        clusters = conn.execute(
            select(ClusterRow.id, ClusterRow.exemplar_ids)
            .where(ClusterRow.active.is_(True))
            .order_by(ClusterRow.id)
        ).all()
        for cluster_id, exemplars in clusters:
            if cluster_id in covered:
                continue
            members = conn.execute(
                select(TraceRow.trace_id, TraceRow.source, TraceRow.id)
                .join(ClusterMemberRow, ClusterMemberRow.trace_pk == TraceRow.id)
                .where(ClusterMemberRow.cluster_id == cluster_id)
                .order_by(ClusterMemberRow.strength.desc(), TraceRow.trace_id)
            ).all()
            first = list((exemplars or {}).get("ids", []))
            ordered = sorted(
                members, key=lambda m: first.index(m[0]) if m[0] in first else len(first)
            )
            added = 0
            for trace_id, source, pk in ordered:
                if added >= per_cluster:
                    break
                case_id = case_id_for(trace_id, source)
                if find_case(conn, case_id) is not None:
                    continue
                stored = next(iter(store.iter_traces(pks=[pk])))
                write_case(
                    conn,
                    EvalCase(
                        case_id=case_id,
                        role=Role.backlog,
                        inputs=stored.trace.input,
                        origin=Origin(
                            trace_id=trace_id,
                            source=source,
                            cluster_id=cluster_id,
                            root_cause=(root_causes or {}).get(cluster_id),
                            timestamp=stored.trace.timestamp,
                        ),
                        failing_output=stored.trace.output_text or None,
                        added_by=actor,
                        added_at=utcnow(),
                    ),
                )
                added += 1
            if added:
                result.clusters.append(cluster_id)
                result.cases_added += added
        result.version = record_version(
            conn, Role.backlog, actor=actor, reason=f"new clusters: {', '.join(result.clusters)}"
        )
    return result


def regression_cases(store: Store) -> list[EvalCase]:
    """Every previously fixed failure (tag ``regression``, with a reference), for replay's
    regression set. Holdout cases are never returned."""
    with store.engine.connect() as conn:
        cases = load_cases(conn)
    return [
        case
        for case in cases
        if Tag.regression in case.tags and case.expected.reference_output is not None
    ]
