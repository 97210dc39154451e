"""Reports on the clustering in the store: the active clusters with their members and weekly
counts, the recent runs, and the readable names triage gives clusters.

These read (or, for names, relabel) what `flywheel.clustering._run` wrote; they never cluster.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select, update

from flywheel.clustering._failing import utc
from flywheel.clustering._labels import (
    clean_name,
)
from flywheel.store import Store
from flywheel.store._tables import (
    ClusterMemberRow,
    ClusterRow,
    ClusterRunRow,
    TraceRow,
)


class ClusterSummary(BaseModel):
    """One failure pattern as `flywheel clusters --json` prints it."""

    id: str
    label: str
    description: str | None = None
    keywords: list[str]
    size: int
    trace_ids: list[str]
    exemplar_ids: list[str]
    first_seen: datetime | None
    last_seen: datetime | None
    weekly_counts: dict[str, int]
    growth: float | None = Field(
        default=None, description="last week's count over the week before, minus 1"
    )


class ClusterReport(BaseModel):
    clusters: list[ClusterSummary]
    noise_trace_ids: list[str]


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def name_clusters(store: Store, names: dict[str, str]) -> list[str]:
    """Give clusters readable names (triage's, from their shared symptom and failing step) in
    place of their keyword labels; the keywords stay stored as the secondary line. A cluster an
    LLM named (it has a description) keeps that name. Returns the ids renamed."""
    renamed: list[str] = []
    with store.engine.begin() as conn:
        for cid, name in sorted(names.items()):
            clean = clean_name(name)
            if not clean:
                continue
            result = conn.execute(
                update(ClusterRow)
                .where(ClusterRow.id == cid, ClusterRow.description.is_(None))
                .values(label=clean)
            )
            if result.rowcount:
                renamed.append(cid)
    return renamed


def cluster_report(store: Store) -> ClusterReport:
    """The active clusters (by id) with their members, and the traces left as noise."""
    with store.engine.connect() as conn:
        clusters = conn.execute(
            select(
                ClusterRow.id,
                ClusterRow.label,
                ClusterRow.description,
                ClusterRow.keywords,
                ClusterRow.exemplar_ids,
                ClusterRow.first_seen,
                ClusterRow.last_seen,
            )
            .where(ClusterRow.active.is_(True))
            .order_by(ClusterRow.id)
        ).all()
        members = conn.execute(
            select(ClusterMemberRow.cluster_id, TraceRow.trace_id, ClusterMemberRow.timestamp)
            .join(TraceRow, TraceRow.id == ClusterMemberRow.trace_pk)
            .order_by(TraceRow.trace_id, TraceRow.id)
        ).all()
    by_cluster: defaultdict[str | None, list[tuple[str, datetime | None]]] = defaultdict(list)
    for row in members:
        by_cluster[row.cluster_id].append((row.trace_id, utc(row.timestamp)))
    summaries = []
    for cluster in clusters:
        own = by_cluster.get(cluster.id, [])
        weeks = Counter(iso_week(stamp) for _, stamp in own if stamp is not None)
        ordered = dict(sorted(weeks.items()))
        counts = list(ordered.values())
        growth = (
            round(counts[-1] / counts[-2] - 1.0, 3) if len(counts) >= 2 and counts[-2] else None
        )
        summaries.append(
            ClusterSummary(
                id=cluster.id,
                label=cluster.label,
                description=cluster.description,
                keywords=list(cluster.keywords.get("words", [])),
                size=len(own),
                trace_ids=[trace_id for trace_id, _ in own],
                exemplar_ids=list(cluster.exemplar_ids.get("ids", [])),
                first_seen=utc(cluster.first_seen),
                last_seen=utc(cluster.last_seen),
                weekly_counts=ordered,
                growth=growth,
            )
        )
    noise = [trace_id for trace_id, _ in by_cluster.get(None, [])]
    return ClusterReport(clusters=summaries, noise_trace_ids=noise)


def cluster_runs(store: Store, limit: int = 10) -> list[dict[str, Any]]:
    """The last clustering runs, newest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(ClusterRunRow).order_by(ClusterRunRow.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]
