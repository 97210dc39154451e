"""The nightly ``optimize`` stage: candidates for the top-priority fixable clusters.

A cluster is optimized when triage calls it fixable, does not leave it to a human (its
confidence is at or above the review threshold), and it has neither an open candidate
(proposed: waiting for the gate or a human) nor any attempt since the cluster last changed,
so a night with nothing new does no work. At most ``[nightly] max_clusters`` per night,
highest triage priority first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from flywheel.errors import UserError
from flywheel.nightly import StageContext, StageResult
from flywheel.store import Store
from flywheel.store._tables import ClusterRow, ClusterRunRow
from optimizers._adapter import TriageVerdict, clusters_from_store
from optimizers._store import OptimizerStore
from optimizers._workers import optimize
from optimizers._workspace import open_workspace


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _triage_records(store: Store) -> list[Any]:
    """The newest triage record of each cluster, highest priority first (triage's façade)."""
    try:
        import triage
    except ImportError:
        raise UserError(
            "the triage package is not installed; optimize needs triaged clusters"
        ) from None
    records: list[Any] = triage.stored_records(store)
    return records


def _changed_at(store: Store) -> dict[str, datetime | None]:
    """When each active cluster last changed (the start of the clustering run that did it)."""
    query = (
        select(ClusterRow.id, ClusterRunRow.started_at)
        .join(ClusterRunRow, ClusterRunRow.id == ClusterRow.last_run_id, isouter=True)
        .where(ClusterRow.active.is_(True))
    )
    with store.engine.connect() as conn:
        return {str(row.id): _utc(row.started_at) for row in conn.execute(query)}


def eligible_clusters(store: Store, limit: int) -> tuple[list[str], dict[str, str]]:
    """(clusters to optimize tonight, why each other fixable cluster waits)."""
    changed = _changed_at(store)
    attempts: dict[str, list[Any]] = {}
    for record in OptimizerStore(store).candidates():
        attempts.setdefault(record.cluster_id, []).append(record)
    chosen: list[str] = []
    waiting: dict[str, str] = {}
    for record in _triage_records(store):
        cid = record.cluster_id
        if not record.fixable or record.needs_review or cid not in changed:
            continue  # the owner's, or a human's first: never an optimizer night
        own = attempts.get(cid, [])
        since = changed[cid]
        if any(r.status == "proposed" for r in own):
            waiting[cid] = "has an open candidate"
        elif since is not None and any(
            (stamp := _utc(r.created_at)) is not None and stamp >= since for r in own
        ):
            waiting[cid] = "already attempted since it last changed"
        elif len(chosen) >= limit:
            waiting[cid] = "over tonight's max_clusters"
        else:
            chosen.append(cid)
    return chosen, waiting


def _made_earlier_in_run(context: StageContext) -> list[dict[str, str | None]]:
    """Candidates an interrupted earlier attempt of this run saved (killed after the save,
    before the stage was marked finished): the resumed stage's report still lists them."""
    began = _utc(context.run_started_at)
    if began is None:
        return []
    return [
        {
            "id": str(c.candidate_id),
            "cluster_id": c.cluster_id,
            "strategy": c.strategy,
            "branch": c.branch,
        }
        for c in OptimizerStore(context.store).candidates(status="proposed")
        if (made := _utc(c.created_at)) is not None and made >= began
    ]


class OptimizeStage:
    name = "optimize"

    def run(self, context: StageContext) -> StageResult:
        store = context.store
        chosen, waiting = eligible_clusters(store, context.max_clusters)
        if not chosen:
            earlier = _made_earlier_in_run(context)
            return StageResult(
                summary={"clusters": [], "candidates": earlier, "waiting": waiting},
                counts={"clusters": 0, "candidates": 0},
            )
        verdicts = {
            r.cluster_id: TriageVerdict(
                root_cause=r.root_cause,
                fixable=r.fixable,
                fix_type=r.fix_type,
                owner=r.component,
                needs_review=r.needs_review,
                handoff_reason=r.handoff_reason or None,
            )
            for r in _triage_records(store)
            if r.cluster_id in chosen
        }
        context.log(f"optimizing {', '.join(chosen)}")
        workspace = open_workspace(context.project)
        inputs = clusters_from_store(store, verdicts, cluster_ids=chosen)
        result = optimize(store, workspace, inputs, config=context.project.settings.optimize)
        made = [
            {
                "id": str(c.candidate_id),
                "cluster_id": c.cluster_id,
                "strategy": c.strategy,
                "branch": c.branch,
            }
            for c in result.candidates
        ]
        return StageResult(
            summary={
                "clusters": chosen,
                "candidates": made,
                "failures": [
                    {"cluster_id": f.cluster_id, "strategy": f.strategy, "reason": f.reason}
                    for f in result.failures
                ],
                "handoffs": [h.cluster_id for h in result.handoffs],
                "waiting": waiting,
            },
            counts={"clusters": len(chosen), "candidates": len(made)},
        )
