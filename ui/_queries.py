"""The reads the pages make: paged, indexed, bounded. Nothing here loads all traces.

Every function returns plain pydantic models or small lists; a page renders them. "This week"
is the seven days up to the newest trace that is not in the future (so a historical or demo
data set has a week too, and a producer with a broken clock does not move it).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel
from sqlalchemy import case, func, select
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from flywheel.store import Store, TraceSummary
from flywheel.store._tables import (
    ClusterMemberRow,
    ClusterRow,
    ClusterRunRow,
    EmbeddingRow,
    TraceRow,
)
from ui._tables import CandidateRow, ShipRow

WEEK = timedelta(days=7)
#: A trace stamped later than this after the wall clock does not anchor "this week".
ANCHOR_SLACK = timedelta(days=1)
#: The earliest week end from which two weeks back is still a date.
_EARLIEST_END = datetime.min.replace(tzinfo=UTC) + 3 * WEEK


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Week(BaseModel):
    start: datetime
    end: datetime
    traces: int
    failing: int

    @property
    def failing_rate(self) -> float | None:
        return self.failing / self.traces if self.traces else None


class WeekOverview(BaseModel):
    this_week: Week
    last_week: Week
    daily: list[dict[str, Any]]


def reference_end(store: Store, now: datetime | None = None) -> datetime | None:
    """Just after the newest trace timestamp that is not in the future (the index answers this).

    Ingest leaves timestamps outside its window out of the column; this also passes over any
    still there (a database from before that rule), so that one trace stamped 9999-12-31
    neither overflows the date arithmetic of the pages nor moves everyone's week. ``now`` is
    the wall clock. The end is never so early that two weeks before it is not a date.
    """
    latest = (now or datetime.now(UTC)) + ANCHOR_SLACK
    with store.engine.connect() as conn:
        newest = conn.execute(
            select(func.max(TraceRow.timestamp)).where(TraceRow.timestamp <= latest)
        ).scalar_one_or_none()
    moment = _utc(newest)
    return max(moment + timedelta(microseconds=1), _EARLIEST_END) if moment else None


def _count(store: Store, start: datetime, end: datetime, *, failing: bool | None) -> int:
    # Each count reads one index only: ix_traces_timestamp, or ix_traces_failing (failing, ts).
    query = select(func.count()).where(TraceRow.timestamp >= start, TraceRow.timestamp < end)
    if failing is not None:
        query = query.where(TraceRow.failing == failing)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _week(store: Store, start: datetime, end: datetime) -> Week:
    return Week(
        start=start,
        end=end,
        traces=_count(store, start, end, failing=None),
        failing=_count(store, start, end, failing=True),
    )


def week_overview(store: Store, end: datetime) -> WeekOverview:
    this_week = _week(store, end - WEEK, end)
    last_week = _week(store, end - 2 * WEEK, end - WEEK)
    day = func.date(TraceRow.timestamp)
    window = (TraceRow.timestamp >= end - 2 * WEEK, TraceRow.timestamp < end)
    with store.engine.connect() as conn:
        by_day = select(day, func.count()).where(*window).group_by(day)
        totals: dict[Any, int] = dict(conn.execute(by_day).all())
        failing: dict[Any, int] = dict(
            conn.execute(
                select(day, func.count())
                .where(TraceRow.failing == True, *window)  # noqa: E712  (index on failing)
                .group_by(day)
            ).all()
        )
    daily = []
    for d, n in sorted(totals.items()):
        bad = int(failing.get(d, 0))
        daily.append({"day": str(d), "failing": "failing", "traces": bad})
        daily.append({"day": str(d), "failing": "ok", "traces": int(n) - bad})
    return WeekOverview(this_week=this_week, last_week=last_week, daily=daily)


class ClusterLine(BaseModel):
    id: str
    label: str
    size: int
    this_week: int
    last_week: int
    first_seen: datetime | None

    @property
    def growth(self) -> float | None:
        return self.this_week / self.last_week - 1.0 if self.last_week else None

    @property
    def new(self) -> bool:
        return self.last_week == 0 and self.this_week > 0


def cluster_lines(store: Store, end: datetime | None) -> list[ClusterLine]:
    """Every active cluster (there are hundreds, not millions) with its two-week counts."""
    with store.engine.connect() as conn:
        clusters = conn.execute(
            select(ClusterRow.id, ClusterRow.label, ClusterRow.first_seen).where(
                ClusterRow.active.is_(True)
            )
        ).all()
        sizes = dict(
            conn.execute(
                select(ClusterMemberRow.cluster_id, func.count())
                .where(ClusterMemberRow.cluster_id.is_not(None))
                .group_by(ClusterMemberRow.cluster_id)
            ).all()
        )
        weeks: dict[str, tuple[int, int]] = {}
        if end is not None:
            recent = ClusterMemberRow.timestamp >= end - WEEK
            counts = conn.execute(
                select(
                    ClusterMemberRow.cluster_id,
                    func.sum(case((recent, 1), else_=0)),
                    func.sum(case((recent, 0), else_=1)),
                )
                .where(
                    ClusterMemberRow.cluster_id.is_not(None),
                    ClusterMemberRow.timestamp >= end - 2 * WEEK,
                    ClusterMemberRow.timestamp < end,
                )
                .group_by(ClusterMemberRow.cluster_id)
            ).all()
            weeks = {cid: (int(a), int(b)) for cid, a, b in counts}
    return [
        ClusterLine(
            id=row.id,
            label=row.label,
            size=int(sizes.get(row.id, 0)),
            this_week=weeks.get(row.id, (0, 0))[0],
            last_week=weeks.get(row.id, (0, 0))[1],
            first_seen=_utc(row.first_seen),
        )
        for row in clusters
    ]


class ClusterDetail(BaseModel):
    id: str
    label: str
    description: str | None
    keywords: list[str]
    exemplars: list[TraceSummary]
    size: int
    weekly: dict[str, int]
    active: bool


def _iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def cluster_detail(store: Store, cluster_id: str) -> ClusterDetail | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(ClusterRow).where(ClusterRow.id == cluster_id)).first()
        if row is None:
            return None
        stamps = conn.execute(
            select(ClusterMemberRow.timestamp).where(ClusterMemberRow.cluster_id == cluster_id)
        ).scalars()
        weekly = Counter(_iso_week(s) for s in stamps if s is not None)
        size = conn.execute(
            select(func.count()).where(ClusterMemberRow.cluster_id == cluster_id)
        ).scalar_one()
    exemplar_ids = [str(i) for i in row.exemplar_ids.get("ids", [])]
    return ClusterDetail(
        id=row.id,
        label=row.label,
        description=row.description,
        keywords=[str(w) for w in row.keywords.get("words", [])],
        exemplars=traces_by_id(store, exemplar_ids),
        size=int(size),
        weekly=dict(sorted(weekly.items())),
        active=bool(row.active),
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


def cluster_of(store: Store, pk: int) -> str | None:
    query = select(ClusterMemberRow.cluster_id).where(ClusterMemberRow.trace_pk == pk)
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def cluster_map_version(store: Store) -> tuple[int, int]:
    """What `cluster_map` depends on: the newest clustering run's id and how many traces are
    in clusters (a full run, an incremental assignment or a merge is a new run)."""
    with store.engine.connect() as conn:
        run = conn.execute(select(func.max(ClusterRunRow.id))).scalar_one_or_none()
        total = conn.execute(
            select(func.count()).where(ClusterMemberRow.cluster_id.is_not(None))
        ).scalar_one()
    return int(run or 0), int(total)


def cluster_map(store: Store, *, sample: int = 2000) -> list[dict[str, Any]]:
    """A 2-D PCA projection of a sample of clustered traces' cached signature embeddings."""
    with store.engine.connect() as conn:
        model = conn.execute(
            select(ClusterRunRow.model).order_by(ClusterRunRow.id.desc()).limit(1)
        ).scalar_one_or_none()
        total = conn.execute(
            select(func.count()).where(ClusterMemberRow.cluster_id.is_not(None))
        ).scalar_one()
        if model is None or not total:
            return []
        step = max(1, -(-int(total) // sample))
        members = conn.execute(
            select(
                ClusterMemberRow.cluster_id,
                ClusterMemberRow.trace_pk,
                ClusterMemberRow.signature_hash,
            )
            .where(ClusterMemberRow.cluster_id.is_not(None), ClusterMemberRow.trace_pk % step == 0)
            .limit(sample)
        ).all()
        hashes = sorted({m.signature_hash for m in members})
        vectors: dict[str, bytes] = {}
        for start in range(0, len(hashes), 500):
            vectors.update(
                conn.execute(
                    select(EmbeddingRow.text_hash, EmbeddingRow.vector).where(
                        EmbeddingRow.model == model,
                        EmbeddingRow.text_hash.in_(hashes[start : start + 500]),
                    )
                ).all()
            )
        pks = [m.trace_pk for m in members]
        names: dict[int, str] = {}
        for start in range(0, len(pks), 500):
            names.update(
                conn.execute(
                    select(TraceRow.id, TraceRow.trace_id).where(
                        TraceRow.id.in_(pks[start : start + 500])
                    )
                ).all()
            )
    rows = [
        (m.cluster_id, names.get(m.trace_pk, ""), vectors[m.signature_hash])
        for m in members
        if m.signature_hash in vectors
    ]
    if len(rows) < 3:
        return []
    matrix = np.stack([np.frombuffer(vector, dtype=np.float32) for _, _, vector in rows])
    centred = (matrix - matrix.mean(axis=0)).astype(np.float64)
    # Top two eigenvectors of the small (dim x dim) covariance; one BLAS thread, because a
    # busy machine's thread contention makes the multi-threaded path 20x slower here.
    with threadpool_limits(1):
        _, vectors_ = np.linalg.eigh(centred.T @ centred)
    xy = centred @ vectors_[:, ::-1][:, :2]
    return [
        {"x": float(x), "y": float(y), "cluster": cluster, "trace_id": trace_id}
        for (x, y), (cluster, trace_id, _) in zip(xy, rows, strict=True)
    ]


class ShipLine(BaseModel):
    candidate_id: str
    cluster_id: str
    cluster_label: str
    merge_sha: str
    shipped_at: datetime
    approvers: list[str]
    rolled_back: bool
    failing_week_before: int
    failing_week_after: int


def ships(store: Store, *, limit: int = 20) -> list[ShipLine]:
    """The latest shipped fixes and their effect: the cluster's failures a week before/after."""
    with store.engine.connect() as conn:
        # Named columns, not the ShipRow entity: on a Core connection an entity in select()
        # expands to its columns, so row[0] would be the ship's id, not a ShipRow.
        rows = conn.execute(
            select(
                ShipRow.candidate_id,
                ShipRow.cluster_id,
                ShipRow.merge_sha,
                ShipRow.shipped_at,
                ShipRow.approvers,
                ShipRow.revert_sha,
                CandidateRow.cluster_label,
            )
            .join(CandidateRow, CandidateRow.id == ShipRow.candidate_id)
            .order_by(ShipRow.shipped_at.desc())
            .limit(limit)
        ).all()
        lines = []
        for ship in rows:
            at = _utc(ship.shipped_at)
            assert at is not None
            window = ClusterMemberRow.cluster_id == ship.cluster_id
            before, after = conn.execute(
                select(
                    func.coalesce(func.sum(case((ClusterMemberRow.timestamp < at, 1), else_=0)), 0),
                    func.coalesce(
                        func.sum(case((ClusterMemberRow.timestamp >= at, 1), else_=0)), 0
                    ),
                ).where(
                    window,
                    ClusterMemberRow.timestamp >= at - WEEK,
                    ClusterMemberRow.timestamp < at + WEEK,
                )
            ).one()
            lines.append(
                ShipLine(
                    candidate_id=ship.candidate_id,
                    cluster_id=ship.cluster_id,
                    cluster_label=ship.cluster_label,
                    merge_sha=ship.merge_sha,
                    shipped_at=at,
                    approvers=list(ship.approvers.get("names", [])),
                    rolled_back=ship.revert_sha is not None,
                    failing_week_before=int(before),
                    failing_week_after=int(after),
                )
            )
    return lines


def candidate_counts(store: Store) -> dict[str, int]:
    query = select(CandidateRow.status, func.count()).group_by(CandidateRow.status)
    with store.engine.connect() as conn:
        return {str(status): int(n) for status, n in conn.execute(query)}


def replay_runs(store: Store, *, limit: int = 50) -> list[dict[str, Any]]:
    """Replay runs the gated candidates cite (the nightly history lives in replay/)."""
    query = (
        select(
            CandidateRow.replay_run,
            CandidateRow.id,
            CandidateRow.cluster_id,
            CandidateRow.status,
            CandidateRow.created_at,
            CandidateRow.gate,
        )
        .order_by(CandidateRow.created_at.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [
            {
                "replay_run": row.replay_run,
                "candidate": row.id,
                "cluster": row.cluster_id,
                "status": row.status,
                "gated_at": row.created_at,
                "gate_passed": bool(row.gate.get("passed")),
                "target_fixed": row.gate.get("target_fixed"),
                "target_broken": row.gate.get("target_broken"),
            }
            for row in conn.execute(query)
        ]


class CandidateLine(BaseModel):
    id: str
    status: str
    gate_passed: bool
    target_fixed: int
    target_broken: int
    target_cases: int
    author: str
    created_at: datetime


def cluster_candidates(store: Store, cluster_id: str, *, limit: int = 50) -> list[CandidateLine]:
    """The candidate fixes proposed for one cluster, newest first (index on cluster_id)."""
    query = (
        select(
            CandidateRow.id,
            CandidateRow.status,
            CandidateRow.gate,
            CandidateRow.author,
            CandidateRow.created_at,
        )
        .where(CandidateRow.cluster_id == cluster_id)
        .order_by(CandidateRow.created_at.desc(), CandidateRow.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        CandidateLine(
            id=row.id,
            status=row.status,
            gate_passed=bool(row.gate.get("passed")),
            target_fixed=int(row.gate.get("target_fixed") or 0),
            target_broken=int(row.gate.get("target_broken") or 0),
            target_cases=int(row.gate.get("target_cases") or 0),
            author=row.author,
            created_at=_utc(row.created_at) or row.created_at,
        )
        for row in rows
    ]


class GateOutcome(BaseModel):
    """A candidate whose latest replay gate decision did not pass, and the gate's reasons."""

    candidate_id: str
    cluster_id: str | None
    decision: str
    reasons: list[str]
    target_fixed: int | None
    target_broken: int | None
    target_cases: int | None
    decided_at: datetime


def gate_outcomes(
    store: Store, decisions: tuple[str, ...] = ("fail", "inconclusive"), *, limit: int = 200
) -> list[GateOutcome]:
    """Candidates whose latest gate decision is one of ``decisions``, newest first."""
    from replay._tables import GateDecisionRow

    latest = (
        select(func.max(GateDecisionRow.id).label("id"))
        .group_by(GateDecisionRow.candidate_id)
        .subquery()
    )
    query = (
        select(
            GateDecisionRow.candidate_id,
            GateDecisionRow.cluster_id,
            GateDecisionRow.decision,
            GateDecisionRow.report,
            GateDecisionRow.created_at,
        )
        .join(latest, latest.c.id == GateDecisionRow.id)
        .where(GateDecisionRow.decision.in_(decisions))
        .order_by(GateDecisionRow.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    outcomes = []
    for row in rows:
        report = row.report or {}
        target = report.get("target") or {}
        outcomes.append(
            GateOutcome(
                candidate_id=row.candidate_id,
                cluster_id=row.cluster_id,
                decision=row.decision,
                reasons=[str(r) for r in report.get("reasons") or []],
                target_fixed=target.get("fixed"),
                target_broken=target.get("broken"),
                target_cases=target.get("cases"),
                decided_at=_utc(row.created_at) or row.created_at,
            )
        )
    return outcomes


def weekly_rates(store: Store, end: datetime, *, weeks: int = 8) -> list[Week]:
    """The failing rate of each of the ``weeks`` 7-day windows up to ``end``, oldest first
    (two index-only counts per week)."""
    return [_week(store, end - (k + 1) * WEEK, end - k * WEEK) for k in reversed(range(weeks))]


def cluster_weeks(store: Store, end: datetime, *, weeks: int = 6) -> dict[str, list[int]]:
    """Every cluster's failing traces in each of the ``weeks`` 7-day windows up to ``end``,
    oldest first (one grouped pass over the members of those weeks)."""
    stamp = ClusterMemberRow.timestamp
    sums = [
        func.sum(case(((stamp >= end - (k + 1) * WEEK) & (stamp < end - k * WEEK), 1), else_=0))
        for k in reversed(range(weeks))
    ]
    query = (
        select(ClusterMemberRow.cluster_id, *sums)
        .where(
            ClusterMemberRow.cluster_id.is_not(None),
            stamp >= end - weeks * WEEK,
            stamp < end,
        )
        .group_by(ClusterMemberRow.cluster_id)
    )
    with store.engine.connect() as conn:
        return {str(row[0]): [int(n or 0) for n in row[1:]] for row in conn.execute(query)}
