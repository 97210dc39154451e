"""Clustering runs against the store: full re-cluster or incremental assignment (the reports on
what a run wrote are in `flywheel.clustering._reports`).

A *full* run reads every failing trace (optionally since a date), builds signatures, embeds
them through the store's cache, clusters them, labels each cluster, matches the clusters to the
previous run's so patterns keep their ids, and replaces the current membership. An
*incremental* run assigns only the failing traces that have no membership yet. ``run_clustering``
picks full when asked, when nothing was clustered yet, or when the last full run is older than
``full_every_days``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, insert, select, update

from flywheel.clustering._assign import VOTERS, assign_vectors
from flywheel.clustering._cluster import cluster_vectors, with_features
from flywheel.clustering._embed_cache import EmbedStats, embed_cached, load_vectors, make_embedder
from flywheel.clustering._failing import FailingTrace, load_failing, utc
from flywheel.clustering._identity import id_number, match_clusters, symptom_profile
from flywheel.clustering._labels import (
    ClusterName,
    clean_name,
    ctfidf_keywords,
    keyword_label,
    medoids_by_similarity,
    name_prompt,
)
from flywheel.config import ClusteringConfig, ComputeConfig
from flywheel.embeddings import TextEmbedder
from flywheel.llm import LLMClient
from flywheel.store import Store
from flywheel.store._tables import (
    ClusterMemberRow,
    ClusterRow,
    ClusterRunRow,
    SignatureRow,
    utcnow,
)

#: Called with a short message at each stage of a run.
Log = Callable[[str], None]


class RunResult(BaseModel):
    """What one clustering run did."""

    model_config = ConfigDict(extra="forbid")

    run_id: int
    kind: str = Field(description="full or incremental")
    traces: int = Field(description="failing traces considered in this run")
    clusters: int = Field(description="active clusters after the run")
    noise: int = Field(description="traces of this run left as noise")
    soft: int = Field(default=0, description="noise traces soft-assigned to a cluster")
    message: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    events: dict[str, Any] = Field(default_factory=dict)
    embedding: dict[str, Any] = Field(default_factory=dict)
    seconds: dict[str, float] = Field(default_factory=dict)
    diagnosis_failures: int = Field(
        default=0,
        description=(
            "traces whose LLM diagnosis failed, retried next run: a full run clusters them "
            "without it, an incremental run leaves them out (not in traces)"
        ),
    )


# -- runs ------------------------------------------------------------------------------------


def run_clustering(
    store: Store,
    config: ClusteringConfig,
    *,
    since: datetime | None = None,
    full: bool = False,
    embedder: TextEmbedder | None = None,
    llm: LLMClient | None = None,
    log: Log | None = None,
    compute: ComputeConfig | None = None,
) -> RunResult:
    """Cluster the store's failing traces: full when asked or due, else incrementally.

    With ``llm``, each new or changed cluster gets an LLM-written name and description when
    its ``naming`` stage has a model, ``clustering.embedding_model = "llm"`` embeds through
    its ``embedding`` stage, and the ``diagnosis`` signature part is written by its
    ``diagnosis`` stage (required then). With a Ray ``compute`` executor (``[compute]``), the
    sentence embeddings run as Ray tasks; the vectors and their cache are the same.
    """
    embedder = embedder or make_embedder(config.embedding_model, llm, compute=compute)
    last_full = _last_full_run(store)
    due = last_full is None or utcnow() - last_full > timedelta(days=config.full_every_days)
    if full or due or not _has_clusters(store):
        return _full_run(store, config, since, embedder, llm, log or _quiet)
    return _incremental_run(store, config, since, embedder, llm, log or _quiet)


def _quiet(_message: str) -> None:
    return None


def _last_full_run(store: Store) -> datetime | None:
    query = select(func.max(ClusterRunRow.started_at)).where(ClusterRunRow.kind == "full")
    with store.engine.connect() as conn:
        return utc(conn.execute(query).scalar_one())


def _has_clusters(store: Store) -> bool:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ClusterRunRow)).scalar_one() > 0


def _start_run(store: Store, kind: str, model: str) -> int:
    with store.engine.begin() as conn:
        result = conn.execute(
            insert(ClusterRunRow).values(kind=kind, model=model, started_at=utcnow(), detail={})
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def _full_run(
    store: Store,
    config: ClusteringConfig,
    since: datetime | None,
    embedder: TextEmbedder,
    llm: LLMClient | None,
    log: Log,
) -> RunResult:
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    items = load_failing(store, config, since=since, llm=llm)
    seconds["signatures"] = time.perf_counter() - began
    failures = _diagnosis_failures(items, log, "clustered without it")
    log(f"{len(items)} failing traces; embedding their signatures")
    # Traces that failed alike share a signature: each distinct (signature, symptoms) pair is
    # embedded and clustered once, standing for its traces, and the result is mapped back.
    began = time.perf_counter()
    firsts, inverse = distinct_points(items)
    vectors, hashes, stats = embed_cached(store, embedder, [items[i].signature for i in firsts])
    stats.texts = len(items)
    seconds["embedding"] = time.perf_counter() - began
    began = time.perf_counter()
    clustering = cluster_vectors(
        vectors, config, [items[i].features for i in firsts], inverse=inverse
    )
    seconds["clustering"] = time.perf_counter() - began
    began = time.perf_counter()
    labels = clustering.labels[inverse]
    groups = _groups(labels, items)
    centroids = [_centroid(vectors, inverse[idx]) for idx in groups]
    previous = _active_clusters(store)
    was = _previous_members(store, {item.pk: item.features for item in items})
    identity = match_clusters(
        np.stack(centroids) if centroids else np.zeros((0, vectors.shape[1]), np.float32),
        [(cid, vec) for cid, vec, _ in previous],
        threshold=config.match_threshold,
        next_number=_next_number(store),
        profiles=(
            [symptom_profile([items[i].features for i in idx]) for idx in groups],
            [symptom_profile(was.get(cid, [])) for cid, _, _ in previous],
        ),
        feature_weight=config.feature_weight,
    )
    docs = [Counter(inverse[idx].tolist()) for idx in groups]
    keywords = ctfidf_keywords(
        [[items[firsts[row]].signature for row in doc] for doc in docs],
        config.keywords,
        repeats=[list(doc.values()) for doc in docs],
    )
    seconds["labels"] = time.perf_counter() - began
    run_id = _start_run(store, "full", embedder.model_name)
    began = time.perf_counter()
    first_seen = {cid: first for cid, _, first in previous}
    clusters = []
    for number, idx in enumerate(groups):
        cid = identity.ids[number]
        rows = inverse[idx]
        hard = rows[~clustering.soft[rows]]
        exemplars = medoids_by_similarity(
            (vectors @ centroids[number])[rows], [items[i].trace_id for i in idx], config.exemplars
        )
        stamps = [stamp for i in idx if (stamp := items[i].timestamp) is not None]
        earliest = min(stamps) if stamps else None
        before = first_seen.get(cid)
        if before is not None and (earliest is None or before < earliest):
            earliest = before
        label, description = keyword_label(keywords[number]), None
        named = _llm_name(llm, keywords[number], [items[i].signature for i in idx[:3]])
        if named is not None:
            label, description = named
        clusters.append(
            {
                "id": cid,
                "label": label,
                "description": description,
                "keywords": {"words": keywords[number]},
                "exemplar_ids": {"ids": exemplars},
                "size": len(idx),
                "centroid": centroids[number].tobytes(),
                "radius": float(
                    np.percentile((vectors @ centroids[number])[hard if hard.size else rows], 5)
                ),
                "active": True,
                "first_seen": earliest,
                "last_seen": max(stamps) if stamps else None,
                "last_run_id": run_id,
            }
        )
    label_of = {i: identity.ids[number] for number, idx in enumerate(groups) for i in idx}
    members = [
        {
            "trace_pk": item.pk,
            "cluster_id": label_of.get(i),
            "run_id": run_id,
            "strength": round(float(clustering.strengths[inverse[i]]), 4),
            "soft": bool(clustering.soft[inverse[i]]),
            "signature_hash": hashes[inverse[i]],
            "timestamp": item.timestamp,
        }
        for i, item in enumerate(items)
    ]
    noise = sum(1 for member in members if member["cluster_id"] is None)
    with store.engine.begin() as conn:
        conn.execute(delete(ClusterMemberRow))
        conn.execute(update(ClusterRow).values(active=False, size=0))
        existing = set(conn.execute(select(ClusterRow.id)).scalars())
        for cluster in clusters:
            if cluster["id"] in existing:
                conn.execute(
                    update(ClusterRow).where(ClusterRow.id == cluster["id"]).values(**cluster)
                )
            else:
                conn.execute(insert(ClusterRow).values(created_run_id=run_id, **cluster))
        for start in range(0, len(members), 2000):
            conn.execute(insert(ClusterMemberRow), members[start : start + 2000])
    seconds["store"] = time.perf_counter() - began
    result = RunResult(
        run_id=run_id,
        kind="full",
        traces=len(items),
        clusters=len(clusters),
        noise=noise,
        soft=int(clustering.soft.sum()),
        message=clustering.message,
        params=clustering.params,
        events=identity.events(),
        embedding=_embedding(stats),
        seconds={k: round(v, 3) for k, v in seconds.items()},
        diagnosis_failures=failures,
    )
    _finish(store, result)
    log(
        f"{result.clusters} clusters, {noise} noise of {len(items)} failing traces"
        + (f" ({clustering.message})" if clustering.message else "")
    )
    return result


def _incremental_run(
    store: Store,
    config: ClusteringConfig,
    since: datetime | None,
    embedder: TextEmbedder,
    llm: LLMClient | None,
    log: Log,
) -> RunResult:
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    items = load_failing(store, config, since=since, exclude_members=True, llm=llm)
    seconds["signatures"] = time.perf_counter() - began
    failures = _diagnosis_failures(items, log, "left unassigned")
    # Assigned now, they would never be read again by an incremental run: the next one retries.
    items = [item for item in items if not item.diagnosis_failed]
    log(f"{len(items)} new failing traces; assigning them to existing clusters")
    began = time.perf_counter()
    vectors, hashes, stats = embed_cached(store, embedder, [item.signature for item in items])
    seconds["embedding"] = time.perf_counter() - began
    began = time.perf_counter()
    assigned = assign_to_clusters(
        store, config, embedder.model_name, vectors, [item.features for item in items]
    )
    seconds["assignment"] = time.perf_counter() - began
    run_id = _start_run(store, "incremental", embedder.model_name)
    rows = [
        {
            "trace_pk": item.pk,
            "cluster_id": cluster,
            "run_id": run_id,
            "strength": strength,
            "soft": cluster is not None,
            "signature_hash": hashes[i],
            "timestamp": item.timestamp,
        }
        for i, (item, (cluster, strength)) in enumerate(zip(items, assigned, strict=True))
    ]
    with store.engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(ClusterMemberRow), rows[start : start + 2000])
        counts = Counter(row["cluster_id"] for row in rows if row["cluster_id"] is not None)
        for cid in sorted(counts):
            stamps: list[datetime] = [
                stamp
                for r in rows
                if r["cluster_id"] == cid and isinstance(stamp := r["timestamp"], datetime)
            ]
            values: dict[str, Any] = {"size": ClusterRow.size + counts[cid], "last_run_id": run_id}
            current = conn.execute(select(ClusterRow.last_seen).where(ClusterRow.id == cid))
            last = utc(current.scalar_one())
            if stamps and (last is None or max(stamps) > last):
                values["last_seen"] = max(stamps)
            conn.execute(update(ClusterRow).where(ClusterRow.id == cid).values(**values))
        active = conn.execute(
            select(func.count()).select_from(ClusterRow).where(ClusterRow.active.is_(True))
        ).scalar_one()
    noise = sum(1 for row in rows if row["cluster_id"] is None)
    result = RunResult(
        run_id=run_id,
        kind="incremental",
        traces=len(items),
        clusters=int(active),
        noise=noise,
        soft=len(items) - noise,
        message="" if items or failures else "no new failing traces to assign",
        embedding=_embedding(stats),
        seconds={k: round(v, 3) for k, v in seconds.items()},
        events={"assigned": dict(sorted(counts.items()))},
        diagnosis_failures=failures,
    )
    _finish(store, result)
    log(f"{len(items) - noise} of {len(items)} new failing traces joined existing clusters")
    return result


def assign_to_clusters(
    store: Store,
    config: ClusteringConfig,
    model: str,
    vectors: npt.NDArray[np.float32],
    features: Sequence[Sequence[str]],
) -> list[tuple[str | None, float]]:
    """(cluster id or None, strength) of each vector (with its symptom features) to a cluster.

    Neighbours vote with the symptom features appended, as in the full run, so a new trace
    joins the pattern whose failure it shares, not only whose text it resembles.
    """
    member = ClusterMemberRow
    ranked = (
        select(
            member.cluster_id,
            member.signature_hash,
            member.trace_pk,
            func.row_number()
            .over(partition_by=member.cluster_id, order_by=member.trace_pk)
            .label("rank"),
            func.count().over(partition_by=member.cluster_id).label("size"),
        )
        .where(member.cluster_id.is_not(None))
        .subquery()
    )
    # At most VOTERS members per cluster, evenly spaced: every step-th by trace order.
    step = (ranked.c.size + VOTERS - 1) // VOTERS
    with store.engine.connect() as conn:
        members = conn.execute(
            select(ranked.c.cluster_id, ranked.c.signature_hash, SignatureRow.features)
            .outerjoin(SignatureRow, SignatureRow.trace_pk == ranked.c.trace_pk)
            .where((ranked.c.rank - 1) % step == 0)
            .order_by(ranked.c.trace_pk)
        ).all()
        clusters = conn.execute(
            select(ClusterRow.id, ClusterRow.centroid, ClusterRow.radius).where(
                ClusterRow.active.is_(True)
            )
        ).all()
    cached = load_vectors(store, model, [row.signature_hash for row in members])
    usable = [row for row in members if row.signature_hash in cached]
    matrix = (
        np.stack([cached[row.signature_hash] for row in usable])
        if usable
        else np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
    )
    known = [tuple((row.features or {}).get("names", ())) for row in usable]
    both = with_features(np.vstack([vectors, matrix]), [*features, *known], config.feature_weight)
    return assign_vectors(
        vectors,
        matrix,
        [str(row.cluster_id) for row in usable],
        {row.id: np.frombuffer(row.centroid, dtype=np.float32) for row in clusters},
        {row.id: float(row.radius) for row in clusters},
        voting_space=(both[: len(vectors)], both[len(vectors) :]),
    )


def distinct_points(items: Sequence[FailingTrace]) -> tuple[list[int], npt.NDArray[np.intp]]:
    """The first trace of each distinct (signature, symptoms) pair, in order of appearance,
    and for each trace the number of its pair (``inverse``)."""
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    firsts: list[int] = []
    inverse = np.empty(len(items), dtype=np.intp)
    for i, item in enumerate(items):
        key = (item.signature, item.features)
        row = seen.get(key)
        if row is None:
            row = seen[key] = len(firsts)
            firsts.append(i)
        inverse[i] = row
    return firsts, inverse


def _centroid(
    vectors: npt.NDArray[np.float32], rows: npt.NDArray[np.intp]
) -> npt.NDArray[np.float32]:
    """`unit_centroid` of ``vectors[rows]`` (rows repeated), summed per distinct row."""
    counts = np.bincount(rows, minlength=vectors.shape[0]).astype(np.float64)
    used = np.flatnonzero(counts)
    mean = (vectors[used].astype(np.float64) * counts[used, None]).sum(axis=0) / counts.sum()
    norm = float(np.linalg.norm(mean))
    result: npt.NDArray[np.float32] = (mean / (norm or 1.0)).astype(np.float32)
    return result


def _groups(labels: npt.NDArray[np.int64], items: Sequence[FailingTrace]) -> list[list[int]]:
    """Member indices per cluster, ordered by size then first trace id (deterministic)."""
    by_label: defaultdict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        if label >= 0:
            by_label[int(label)].append(i)
    return sorted(by_label.values(), key=lambda idx: (-len(idx), items[idx[0]].trace_id))


def _active_clusters(
    store: Store,
) -> list[tuple[str, npt.NDArray[np.float32], datetime | None]]:
    query = select(ClusterRow.id, ClusterRow.centroid, ClusterRow.first_seen).where(
        ClusterRow.active.is_(True)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(ClusterRow.id)).all()
    return [(r.id, np.frombuffer(r.centroid, dtype=np.float32), utc(r.first_seen)) for r in rows]


def _previous_members(
    store: Store, features: dict[int, tuple[str, ...]]
) -> dict[str, list[tuple[str, ...]]]:
    """The symptom features of each current cluster's members that are still in ``features``."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(ClusterMemberRow.cluster_id, ClusterMemberRow.trace_pk).where(
                ClusterMemberRow.cluster_id.is_not(None)
            )
        ).all()
    members: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for cluster_id, pk in rows:
        if cluster_id is not None and pk in features:
            members[cluster_id].append(features[pk])
    return members


def _next_number(store: Store) -> int:
    with store.engine.connect() as conn:
        ids = conn.execute(select(ClusterRow.id)).scalars().all()
    return max((id_number(i) for i in ids), default=0) + 1


def _llm_name(
    llm: LLMClient | None, keywords: list[str], exemplars: list[str]
) -> tuple[str, str] | None:
    if llm is None or not llm.is_configured("naming"):
        return None
    from flywheel.llm import LLMError

    try:
        reply = llm.structured(
            "naming",
            [{"role": "user", "content": name_prompt(keywords, exemplars)}],
            ClusterName,
        )
    except LLMError:
        return None  # the keyword label stands; naming is a nicety, never a failure
    return clean_name(reply.name), clean_name(reply.description)


def _diagnosis_failures(items: Sequence[FailingTrace], log: Log, then: str) -> int:
    failed = sum(1 for item in items if item.diagnosis_failed)
    if failed:
        log(
            f"{failed} of {len(items)} traces got no LLM diagnosis (provider errors, malformed "
            "replies or the budget spent; the warnings and the LLM ledger say which): "
            f"{then}, retried next run"
        )
    return failed


def _embedding(stats: EmbedStats) -> dict[str, Any]:
    return {
        "texts": stats.texts,
        "distinct": stats.distinct,
        "cached": stats.cached,
        "embedded": stats.embedded,
        "signatures_per_s": round(stats.throughput, 1),
    }


def _finish(store: Store, result: RunResult) -> None:
    detail = {
        "params": result.params,
        "events": result.events,
        "embedding": result.embedding,
        "seconds": result.seconds,
        "soft": result.soft,
        "diagnosis_failures": result.diagnosis_failures,
    }
    with store.engine.begin() as conn:
        conn.execute(
            update(ClusterRunRow)
            .where(ClusterRunRow.id == result.run_id)
            .values(
                finished_at=utcnow(),
                traces=result.traces,
                clusters=result.clusters,
                noise=result.noise,
                message=result.message,
                detail=detail,
            )
        )
