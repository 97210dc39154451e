"""From the store's clusters (flywheel.clustering) and a triage verdict to `ClusterInput`s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from flywheel.store import Store
from flywheel.store._tables import ClusterMemberRow, TraceRow
from flywheel.trace import Trace
from optimizers._evidence import request_of, router_output, similarity_matrix
from optimizers._workers import ClusterInput


class TriageVerdict(BaseModel):
    """The part of a cluster's triage the optimizer reads."""

    model_config = ConfigDict(extra="ignore")

    root_cause: str
    fixable: bool | None = None
    fix_type: str | None = None
    owner: str | None = None
    needs_review: bool = False
    handoff_reason: str | None = None


def select_neighbours(
    failing: Sequence[Trace], healthy: Sequence[Trace], k: int = 100, per_route: int = 20
) -> list[Trace]:
    """The healthy traces whose requests are most like the failing ones (TF-IDF).

    The ``k`` most similar, plus the ``per_route`` most similar of every route the router
    took: when an over-broad rule catches a whole kind of request, the closest healthy
    requests are that rule's lucky catches, and only the other routes' traces show where
    such a request should have gone.
    """
    if not failing or not healthy:
        return []
    sims = similarity_matrix([request_of(t) for t in healthy], [request_of(t) for t in failing])
    score = np.sort(sims, axis=1)[:, -min(5, sims.shape[1]) :].mean(axis=1)
    order = [
        i
        for i in sorted(range(len(healthy)), key=lambda i: (-float(score[i]), healthy[i].trace_id))
        if score[i] > 0
    ]
    chosen = set(order[:k])
    taken: dict[str, int] = {}
    for i in order:
        route = str((router_output(healthy[i]) or {}).get("route", ""))
        if route and taken.get(route, 0) < per_route:
            taken[route] = taken.get(route, 0) + 1
            chosen.add(i)
    return [healthy[i] for i in order if i in chosen]


def clusters_from_store(
    store: Store,
    verdicts: Mapping[str, TriageVerdict],
    *,
    cluster_ids: Sequence[str] | None = None,
    neighbours: int = 100,
) -> list[ClusterInput]:
    """Active clusters that have a triage verdict, with members, signatures and neighbours."""
    from flywheel.clustering import cluster_report

    report = cluster_report(store)
    healthy = [s.trace for s in store.iter_traces(failing=False)]
    inputs: list[ClusterInput] = []
    for summary in report.clusters:
        if summary.id not in verdicts or (cluster_ids and summary.id not in cluster_ids):
            continue
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(TraceRow.id, ClusterMemberRow.signature_hash)
                .join(ClusterMemberRow, ClusterMemberRow.trace_pk == TraceRow.id)
                .where(ClusterMemberRow.cluster_id == summary.id)
            ).all()
        signature_of = {row.id: row.signature_hash for row in rows}
        stored = list(store.iter_traces(pks=list(signature_of)))
        failing = [s.trace for s in stored]
        verdict = verdicts[summary.id]
        inputs.append(
            ClusterInput(
                cluster_id=summary.id,
                label=summary.label,
                keywords=summary.keywords,
                root_cause=verdict.root_cause,
                fixable=verdict.fixable,
                fix_type=verdict.fix_type,
                owner=verdict.owner,
                needs_review=verdict.needs_review,
                handoff_reason=verdict.handoff_reason,
                failing=failing,
                neighbours=select_neighbours(failing, healthy, neighbours),
                signatures={s.trace.trace_id: signature_of[s.pk] for s in stored},
                first_seen=summary.first_seen,
            )
        )
    return inputs
