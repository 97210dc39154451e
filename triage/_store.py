"""Reads and writes of the triage package: clusters and members in, records and labels out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from flywheel.detectors import stored_detections
from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._codec import decode_payload
from flywheel.store._tables import ClusterMemberRow, ClusterRow, TraceRow
from flywheel.trace import Trace
from triage._evidence import MemberTrace
from triage._facts import Baseline
from triage._tables import TriageLabelRow, TriageRecordRow

_CHUNK = 500
#: Healthy traces read for the baseline (spread evenly over the store).
BASELINE_SAMPLE = 3000


@dataclass(frozen=True)
class ClusterMembers:
    cluster_id: str
    run_id: int | None
    label: str
    members: list[MemberTrace]
    keywords: tuple[str, ...] = ()


def active_clusters(store: Store, cluster_ids: Sequence[str] | None = None) -> list[ClusterMembers]:
    """Active clusters (or the ones named) with their member traces and signals."""
    query = select(
        ClusterRow.id, ClusterRow.label, ClusterRow.last_run_id, ClusterRow.keywords
    ).order_by(ClusterRow.id)
    if cluster_ids:
        query = query.where(ClusterRow.id.in_(list(cluster_ids)))
    else:
        query = query.where(ClusterRow.active.is_(True))
    with store.engine.connect() as conn:
        clusters = conn.execute(query).all()
        if cluster_ids:
            missing = sorted(set(cluster_ids) - {row.id for row in clusters})
            if missing:
                raise UserError(
                    f"no cluster {', '.join(missing)}; list them with `flywheel clusters`"
                )
        members = conn.execute(
            select(ClusterMemberRow.cluster_id, ClusterMemberRow.trace_pk).where(
                ClusterMemberRow.cluster_id.in_([row.id for row in clusters])
            )
        ).all()
    pks_by_cluster: defaultdict[str, list[int]] = defaultdict(list)
    for row in members:
        pks_by_cluster[str(row.cluster_id)].append(int(row.trace_pk))
    all_pks = sorted(pk for pks in pks_by_cluster.values() for pk in pks)
    loaded = load_members(store, all_pks)
    return [
        ClusterMembers(
            cluster_id=row.id,
            run_id=row.last_run_id,
            label=row.label,
            members=[loaded[pk] for pk in sorted(pks_by_cluster.get(row.id, [])) if pk in loaded],
            keywords=_keywords(row.keywords),
        )
        for row in clusters
    ]


def _keywords(stored: Any) -> tuple[str, ...]:
    """The clustering's keywords (stored as ``{"words": [...]}``)."""
    words = stored.get("words") if isinstance(stored, dict) else None
    return tuple(str(w) for w in words) if isinstance(words, list) else ()


def load_members(store: Store, pks: Sequence[int]) -> dict[int, MemberTrace]:
    """Traces by primary key, each with its stored failure signals and detections."""
    out: dict[int, MemberTrace] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(pks), _CHUNK):
            chunk = list(pks[start : start + _CHUNK])
            signals = store.signals_by_trace(chunk)
            stored = stored_detections(store, chunk)
            for pk, payload in conn.execute(
                select(TraceRow.id, TraceRow.payload).where(TraceRow.id.in_(chunk))
            ):
                trace = Trace.model_validate_json(decode_payload(payload))
                run = stored.get(pk)
                detections = run.detections if run is not None else None
                out[pk] = MemberTrace(trace, signals.get(pk, []), detections)
    return out


def healthy_baseline(store: Store, *, sample: int = BASELINE_SAMPLE) -> Baseline:
    """Statistics of traces that are not failing (an even sample of at most ``sample``)."""
    with store.engine.connect() as conn:
        pks = [
            int(pk)
            for (pk,) in conn.execute(
                select(TraceRow.id).where(TraceRow.failing.is_(False)).order_by(TraceRow.id)
            )
        ]
    step = max(1, len(pks) // sample) if sample else 1
    chosen = pks[::step][:sample] if sample else pks
    return Baseline.from_traces(m.trace for m in load_members(store, chosen).values())


def users_seen(store: Store) -> int:
    """Distinct users (or sessions when traces name no user) in the store."""
    with store.engine.connect() as conn:
        sessions = conn.execute(select(func.count(func.distinct(TraceRow.session_id)))).scalar_one()
    return int(sessions or 0)


def save_record(store: Store, values: dict[str, Any]) -> int:
    with store.engine.begin() as conn:
        result = conn.execute(insert(TriageRecordRow).values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def latest_records(store: Store) -> dict[str, dict[str, Any]]:
    """The newest record of each cluster, by cluster id."""
    newest = (
        select(TriageRecordRow.cluster_id, func.max(TriageRecordRow.id).label("id"))
        .group_by(TriageRecordRow.cluster_id)
        .subquery()
    )
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(TriageRecordRow).join(newest, newest.c.id == TriageRecordRow.id)
        ).all()
    return {row.cluster_id: dict(row._mapping) for row in rows}


def all_records(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(TriageRecordRow).order_by(TriageRecordRow.id)).all()
    return [dict(row._mapping) for row in rows]


def record_by_id(store: Store, record_id: int) -> dict[str, Any] | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(TriageRecordRow).where(TriageRecordRow.id == record_id)).first()
    return dict(row._mapping) if row else None


def cluster_exists(store: Store, cluster_id: str) -> bool:
    with store.engine.connect() as conn:
        return (
            conn.execute(select(ClusterRow.id).where(ClusterRow.id == cluster_id)).first()
            is not None
        )


def save_label(store: Store, values: dict[str, Any]) -> int:
    with store.engine.begin() as conn:
        result = conn.execute(insert(TriageLabelRow).values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def all_labels(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(TriageLabelRow).order_by(TriageLabelRow.id)).all()
    return [dict(row._mapping) for row in rows]


def existing_evidence(store: Store, trace_ids: Sequence[str]) -> dict[str, set[str]]:
    """Trace id -> its step ids, for the trace ids that exist in the store."""
    out: dict[str, set[str]] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(trace_ids), _CHUNK):
            chunk = list(trace_ids[start : start + _CHUNK])
            for row in conn.execute(
                select(TraceRow.trace_id, TraceRow.payload).where(TraceRow.trace_id.in_(chunk))
            ):
                trace = Trace.model_validate_json(decode_payload(row.payload))
                out.setdefault(row.trace_id, set()).update(step.id for step in trace.steps)
    return out


def as_utc_iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
