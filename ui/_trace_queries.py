"""The trace reads: summaries by id and the filtered, keyset-paged trace search."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select

from flywheel.store import Store, TraceSummary
from flywheel.store._tables import (
    ClusterMemberRow,
    ClusterRow,
    TraceRow,
)

_SUMMARY = (
    TraceRow.id,
    TraceRow.source,
    TraceRow.trace_id,
    TraceRow.session_id,
    TraceRow.timestamp,
    TraceRow.input_preview,
    TraceRow.route,
    TraceRow.latency_ms,
    TraceRow.tool_calls,
    TraceRow.error_count,
    TraceRow.failing,
    TraceRow.failure_score,
)


def _summary(row: Any) -> TraceSummary:
    data = dict(row._mapping)
    data["pk"] = data.pop("id")
    return TraceSummary(**data)


def traces_by_id(store: Store, trace_ids: list[str]) -> list[TraceSummary]:
    if not trace_ids:
        return []
    with store.engine.connect() as conn:
        rows = conn.execute(select(*_SUMMARY).where(TraceRow.trace_id.in_(trace_ids[:200])))
        return [_summary(row) for row in rows]


class TraceFilter(BaseModel):
    text: str = ""
    trace_id: str = ""
    failing: bool | None = None
    route: str | None = None
    cluster_id: str | None = None


#: Where a page of traces ends: the last trace's timestamp (None sorts last) and primary key.
Cursor = tuple[datetime | None, int]


def resolve_cluster(store: Store, cluster_id: str) -> str:
    """The stored cluster id a typed one names, ignoring case (``c-0003`` is ``C-0003``)."""
    wanted = cluster_id.strip()
    query = select(ClusterRow.id).where(func.lower(ClusterRow.id) == wanted.lower()).limit(1)
    with store.engine.connect() as conn:
        found = conn.execute(query).scalar_one_or_none()
    return str(found) if found is not None else wanted


def search_traces(
    store: Store, where: TraceFilter, *, limit: int = 50, after: Cursor | None = None
) -> tuple[list[TraceSummary], bool]:
    """One page, newest first by the trace's own timestamp (keyset paging on timestamp and
    primary key; traces without a timestamp come last); and whether more exist."""
    query = (
        select(*_SUMMARY)
        .order_by(TraceRow.timestamp.desc().nulls_last(), TraceRow.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        at, pk = after
        if at is None:
            query = query.where(TraceRow.timestamp.is_(None), TraceRow.id < pk)
        else:
            query = query.where(
                (TraceRow.timestamp < at)
                | ((TraceRow.timestamp == at) & (TraceRow.id < pk))
                | TraceRow.timestamp.is_(None)
            )
    if where.failing is not None:
        query = query.where(TraceRow.failing.is_(where.failing))
    if where.route:
        query = query.where(TraceRow.route == where.route)
    if where.trace_id:
        query = query.where(TraceRow.trace_id.startswith(where.trace_id, autoescape=True))
    if where.text:
        query = query.where(TraceRow.input_preview.contains(where.text, autoescape=True))
    if where.cluster_id:
        cluster = resolve_cluster(store, where.cluster_id)
        query = query.join(ClusterMemberRow, ClusterMemberRow.trace_pk == TraceRow.id).where(
            ClusterMemberRow.cluster_id == cluster
        )
    with store.engine.connect() as conn:
        rows = [_summary(row) for row in conn.execute(query)]
    return rows[:limit], len(rows) > limit


def cursor_of(trace: TraceSummary) -> Cursor:
    return (trace.timestamp, trace.pk)


def routes(store: Store, limit: int = 200) -> list[str]:
    query = select(TraceRow.route).where(TraceRow.route.is_not(None)).distinct().limit(limit)
    with store.engine.connect() as conn:
        return sorted(str(r) for r in conn.execute(query).scalars())
