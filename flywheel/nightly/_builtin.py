"""The core's own stages: ingest the inbox, detect failures, cluster (registered like any other
stage, by the core's plugin `flywheel._plugin`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select, update

from flywheel.errors import UserError
from flywheel.ingest import SkippedPath, expand_paths, ingest_paths, window_of
from flywheel.nightly._stage import StageContext, StageResult
from flywheel.nightly._tables import InboxFileRow
from flywheel.store import Store
from flywheel.store._tables import (
    ClusterMemberRow,
    ClusterRow,
    ClusterRunRow,
    TraceRow,
    utcnow,
)


class IngestStage:
    """New trace files under the inbox (recursively); a file is new until its path, size and
    modification time were recorded as ingested. Re-ingesting is idempotent anyway."""

    name = "ingest"

    def run(self, context: StageContext) -> StageResult:
        inbox = context.inbox
        if not inbox.is_dir():
            return StageResult(
                summary={"inbox": str(inbox), "files": 0, "note": "no inbox folder"},
                counts={"files": 0, "stored": 0},
            )
        settings = context.project.settings.ingest
        seen = _ingested(context.store)
        totals: dict[str, int] = {"read": 0, "stored": 0, "updated": 0, "duplicates": 0}
        totals["quarantined"] = 0
        files: list[str] = []
        warnings: list[str] = []
        skipped = 0
        passed: list[SkippedPath] = []
        for path in expand_paths([inbox], skipped=passed):
            key, size, mtime = _identity(path)
            known = seen.get(key)
            if known is not None and known.size == size and known.mtime_ns == mtime:
                if known.run_id == context.run_id:  # by an attempt of this run killed later
                    files.append(str(path.relative_to(inbox)))
                    for name in totals:  # the run's totals count it once, whichever attempt
                        totals[name] += int(known.counts.get(name, 0))
                else:
                    skipped += 1
                continue
            context.log(f"{path.name}")
            try:
                counts = ingest_paths(
                    context.store,
                    [path],
                    batch_size=settings.batch_size,
                    max_record_bytes=settings.max_record_bytes,
                    score_rules=context.project.settings.signals.scores,
                    timestamp_window=window_of(settings),
                )
            except OSError as exc:
                raise UserError(
                    f"inbox file {path}: cannot read it ({exc.strerror or exc}); fix its "
                    "permissions or move it out of the inbox"
                ) from None
            data = counts.as_dict()
            warnings.extend(w for w in counts.warnings if w not in warnings)
            for name in totals:
                totals[name] += int(data.get(name, 0))
            _record(context.store, key, size, mtime, context.run_id, data)
            files.append(str(path.relative_to(inbox)))
        return StageResult(
            summary={
                "inbox": str(inbox),
                "files": files,
                "skipped": skipped,
                "not_read": [
                    {"path": str(p.path.relative_to(inbox)), "reason": p.reason} for p in passed
                ],
                **totals,
                **({"warnings": warnings} if warnings else {}),
            },
            counts={"files": len(files), "stored": totals["stored"] + totals["updated"]},
        )


def _identity(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), int(stat.st_size), int(stat.st_mtime_ns)


class _Ingested(NamedTuple):
    size: int
    mtime_ns: int
    run_id: int | None  # the nightly run that read it
    counts: dict[str, Any]


def _ingested(store: Store) -> dict[str, _Ingested]:
    """Each ingested file's identity, the nightly run that read it and what it counted."""
    columns = (
        InboxFileRow.path,
        InboxFileRow.size,
        InboxFileRow.mtime_ns,
        InboxFileRow.run_id,
        InboxFileRow.counts,
    )
    with store.engine.connect() as conn:
        rows = conn.execute(select(*columns))
        return {
            row.path: _Ingested(int(row.size), int(row.mtime_ns), row.run_id, row.counts or {})
            for row in rows
        }


def _record(
    store: Store, key: str, size: int, mtime: int, run_id: int, counts: dict[str, Any]
) -> None:
    values = {
        "size": size,
        "mtime_ns": mtime,
        "run_id": run_id,
        "ingested_at": utcnow(),
        "counts": {k: v for k, v in counts.items() if k != "errors"},
    }
    with store.engine.begin() as conn:
        existing = conn.execute(select(InboxFileRow.path).where(InboxFileRow.path == key)).first()
        if existing is None:
            conn.execute(insert(InboxFileRow).values(path=key, **values))
        else:
            conn.execute(update(InboxFileRow).where(InboxFileRow.path == key).values(**values))


class DetectStage:
    """Derive failure signals for the traces not evaluated yet."""

    name = "detect"

    def run(self, context: StageContext) -> StageResult:
        from flywheel.signals import detect_failures

        report = detect_failures(context.store, context.project.settings.signals)
        return StageResult(
            summary=report.model_dump(mode="json"), counts={"evaluated": report.evaluated}
        )


class ClusterStage:
    """Assign new failing traces to the clusters; re-cluster fully when none exist or due."""

    name = "cluster"

    def run(self, context: StageContext) -> StageResult:
        from flywheel.clustering import run_clustering

        store, settings = context.store, context.project.settings
        if store.count_traces(failing=True) == 0:
            return StageResult(
                summary={"kind": "none", "clusters": 0, "new": [], "grown": {}},
                counts={"traces": 0},
            )
        earlier = _earlier_cluster_run(store, context.run_started_at)
        if earlier is not None:
            return earlier
        config = settings.clustering
        if settings.nightly.full_recluster_days is not None:
            config = config.model_copy(
                update={"full_every_days": settings.nightly.full_recluster_days}
            )
        before = _sizes(store)
        llm = context.project.llm_client("cluster")
        try:
            result = run_clustering(
                store, config, llm=llm, log=context.log, compute=settings.compute
            )
        finally:
            llm.close()
        after = _sizes(store)
        new = sorted(set(after) - set(before))
        grown = {
            cid: after[cid] - before[cid]
            for cid in sorted(after)
            if cid in before and after[cid] > before[cid]
        }
        return StageResult(
            summary={
                "run_id": result.run_id,
                "kind": result.kind,
                "traces": result.traces,
                "clusters": result.clusters,
                "noise": result.noise,
                "new": new,
                "grown": grown,
                "message": result.message,
                "diagnosis_failures": result.diagnosis_failures,
            },
            counts={"traces": result.traces},
        )


def _earlier_cluster_run(store: Store, began: datetime | None) -> StageResult | None:
    """The clustering an interrupted earlier attempt of this nightly run finished, when no
    failing trace has been left out of it since: reported again instead of adding an empty
    incremental run (after a crash between the clustering and the stage's record)."""
    if began is None:
        return None
    with store.engine.connect() as conn:
        runs = conn.execute(
            select(ClusterRunRow)
            .where(ClusterRunRow.finished_at.is_not(None))
            .order_by(ClusterRunRow.id)
        ).all()
        mine = [r for r in runs if _utc(r.started_at) >= began]
        if not mine:
            return None
        waiting = conn.execute(
            select(func.count())
            .select_from(TraceRow)
            .where(TraceRow.failing.is_(True))
            .where(TraceRow.id.not_in(select(ClusterMemberRow.trace_pk)))
        ).scalar_one()
        if waiting:
            return None
        ids = [r.id for r in mine]
        new = conn.execute(
            select(ClusterRow.id)
            .where(ClusterRow.active.is_(True), ClusterRow.created_run_id.in_(ids))
            .order_by(ClusterRow.id)
        ).scalars()
        new_ids = [str(cid) for cid in new]
    last = mine[-1]
    grown: dict[str, int] = {}
    for run in mine:
        for cid, added in dict(run.detail.get("events", {}).get("assigned", {})).items():
            if cid not in new_ids:
                grown[cid] = grown.get(cid, 0) + int(added)
    return StageResult(
        summary={
            "run_id": last.id,
            "kind": last.kind,
            "traces": sum(int(r.traces) for r in mine),
            "clusters": last.clusters,
            "noise": last.noise,
            "new": new_ids,
            "grown": dict(sorted(grown.items())),
            "message": last.message,
            "diagnosis_failures": int(last.detail.get("diagnosis_failures", 0)),
        },
        counts={"traces": 0},
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sizes(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(ClusterRow.id, ClusterRow.size).where(ClusterRow.active))
        return {str(row.id): int(row.size) for row in rows}
