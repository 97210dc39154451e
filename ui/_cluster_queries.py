"""The cluster reads: the cluster list, one cluster's detail, the map and the weekly counts.

Each is one bounded query over the clustering tables; the map samples its points.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
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
from ui._trace_queries import traces_by_id
from ui._week_queries import WEEK, _utc


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
