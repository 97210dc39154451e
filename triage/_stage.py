"""The nightly ``triage`` stage: triage the clusters that are new or changed since their
last triage (a record's ``cluster_run_id`` differs from the cluster's last clustering run),
then put the new clusters' traces into the backlog eval set."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from flywheel.clustering import name_clusters
from flywheel.datasets import sync_backlog
from flywheel.nightly import StageContext, StageResult
from flywheel.store import Store
from flywheel.store._tables import ClusterRow
from triage._agent import stored_records, triage_clusters
from triage._record import TriageRecord
from triage._store import latest_records
from triage._taxonomy import load_triage_config


def clusters_to_triage(store: Store) -> list[str]:
    """Active clusters without a triage record of their current clustering run."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(ClusterRow.id, ClusterRow.last_run_id)
            .where(ClusterRow.active.is_(True))
            .order_by(ClusterRow.id)
        ).all()
    triaged = {r.cluster_id: r.cluster_run_id for r in stored_records(store)}
    return [str(row.id) for row in rows if triaged.get(row.id, -1) != row.last_run_id]


class TriageStage:
    name = "triage"

    def run(self, context: StageContext) -> StageResult:
        store = context.store
        todo = clusters_to_triage(store)
        records: list[TriageRecord] = []
        if todo:
            context.log(f"{len(todo)} new or changed clusters")
            llm = context.project.llm_client(f"triage-nightly-{context.run_id}")
            try:
                records = triage_clusters(
                    store,
                    config=load_triage_config(context.project.root),
                    llm=llm,
                    cluster_ids=todo,
                )
            finally:
                llm.close()
        # After a crash the resumed stage finds only what is left to triage: the records an
        # earlier attempt of this run saved still count, and still feed the backlog.
        current = stored_records(store)
        mine = _made_since(store, context.run_started_at) | {r.record_id for r in records}
        this_run = [r for r in current if r.record_id in mine]
        # Renaming is idempotent, and a kill between saving records and naming their clusters
        # would otherwise leave those clusters with keyword labels for good.
        name_clusters(store, {r.cluster_id: r.name for r in this_run})
        triaged = [
            {
                "cluster_id": r.cluster_id,
                "name": r.name,
                "root_cause": r.root_cause,
                "severity": r.severity,
                "priority": round(r.priority, 2),
                "fixable": r.fixable,
                "owner": r.component,
                **({} if r.fixable else {"handoff_reason": r.handoff_reason}),
            }
            for r in this_run
        ]
        backlog = sync_backlog(  # new failure patterns land in the backlog eval set
            store,
            config=context.project.settings.datasets,
            root_causes={r.cluster_id: r.root_cause for r in current},
        )
        return StageResult(
            summary={
                "triaged": triaged,
                "needs_a_human": [r.needs_a_human() for r in this_run if r.needs_review],
                "backlog_clusters": backlog.clusters,
            },
            counts={"clusters": len(records), "backlog_cases": backlog.cases_added},
        )


def _made_since(store: Store, began: datetime | None) -> set[int | None]:
    """Ids of the newest triage records written since ``began`` (this nightly run)."""
    if began is None:
        return set()
    return {
        row["id"]
        for row in latest_records(store).values()
        if (stamp := _utc(row["created_at"])) is not None and stamp >= began
    }


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
