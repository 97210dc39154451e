"""Case sets: the cluster's held-out validation slice, a stratified regression sample of recent
traffic (plus every previously fixed failure), and a small blocking set of severe cases.

Sets are versioned by content hash (`CaseSet.digest`): building again from the same traces
gives the same digest, anything else a new version beside the old one, never an edit of it.
Every choice is seeded and order-independent (cases are ranked by a hash of seed and trace id).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from flywheel.datasets import regression_cases
from flywheel.errors import FlywheelError, UserError
from flywheel.splits import DEFAULT_HOLDOUT, DEFAULT_SEED, split_trace_ids
from flywheel.store import Store, StoredTrace
from flywheel.store._tables import ClusterMemberRow, TraceRow
from flywheel.trace import Trace
from flywheel.worlds import replay_inputs
from replay._models import Case, CaseSet, Expectations, Suite


def rank(trace_id: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by (seed, trace id): the sampling order."""
    digest = hashlib.blake2b(f"{seed}|{trace_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def split_cluster(
    trace_ids: Iterable[str], *, holdout: float = DEFAULT_HOLDOUT, seed: int = DEFAULT_SEED
) -> tuple[list[str], list[str]]:
    """(optimizer part, held-out part) of a cluster's traces: the core rule, `flywheel.splits`.

    The optimizers split with the same rule, so the held-out part never reached a strategy.
    """
    return split_trace_ids(trace_ids, holdout=holdout, seed=seed)


def case_from_trace(
    trace: Trace,
    *,
    cluster_id: str | None = None,
    stratum: str | None = None,
    signals: Sequence[str] = (),
) -> Case:
    """A case replaying ``trace``'s request: its input, plus its seed and time when known.

    Expectations come from ``trace.metadata["expected"]`` (a reviewer's annotation), if any.
    """
    inputs = replay_inputs(trace)
    expected = Expectations()
    raw = trace.metadata.get("expected")
    if isinstance(raw, dict):
        try:
            expected = Expectations.model_validate(raw)
        except ValidationError as exc:
            raise UserError(f"trace {trace.trace_id}: invalid metadata.expected: {exc}") from None
    return Case(
        case_id=trace.trace_id,
        inputs=inputs,
        session_id=trace.session_id,
        stratum=stratum,
        cluster_id=cluster_id,
        signals=tuple(sorted(set(signals))),
        expected=expected,
    )


def stratum_of(trace: Trace, cluster_id: str | None) -> str:
    """``route|intent|cluster`` (``-`` for unknown parts)."""
    intent = trace.metadata.get("intent")
    return f"{trace.route or '-'}|{intent or '-'}|{cluster_id or '-'}"


def validation_set(
    traces: Sequence[Trace],
    *,
    cluster_id: str,
    holdout: float = 0.3,
    seed: int = 0,
    signals: Mapping[str, Sequence[str]] | None = None,
) -> CaseSet:
    """The held-out part of a cluster's failing traces (frozen by its digest)."""
    _, held = split_cluster((t.trace_id for t in traces), holdout=holdout, seed=seed)
    keep = set(held)
    cases = [
        case_from_trace(
            t,
            cluster_id=cluster_id,
            stratum=cluster_id,
            signals=(signals or {}).get(t.trace_id, ()),
        )
        for t in sorted(traces, key=lambda t: t.trace_id)
        if t.trace_id in keep
    ]
    return CaseSet(
        name=f"validation-{cluster_id}",
        suite=Suite.validation,
        cluster_id=cluster_id,
        cases=tuple(cases),
        detail={"cluster_traces": len(traces), "holdout": holdout, "seed": seed},
    )


def regression_set(
    traces: Sequence[tuple[Trace, str | None]],
    *,
    size: int,
    seed: int = 0,
    fixed: Sequence[Case] = (),
    name: str = "regression",
) -> CaseSet:
    """A sample of ``size`` traces stratified by route / intent / cluster, plus ``fixed``.

    Allocation is proportional to each stratum's share (largest remainders, every stratum
    present with at least one case when ``size`` allows), so the set mirrors real traffic.
    """
    if size < 1:
        raise UserError(f"the regression set needs a size of at least 1, got {size}")
    strata: dict[str, list[tuple[Trace, str | None]]] = defaultdict(list)
    for trace, cluster in traces:
        strata[stratum_of(trace, cluster)].append((trace, cluster))
    quotas = _allocate({k: len(v) for k, v in strata.items()}, min(size, len(traces)))
    cases: list[Case] = []
    for key in sorted(strata):
        members = sorted(strata[key], key=lambda item: rank(item[0].trace_id, seed))
        for trace, cluster in members[: quotas[key]]:
            cases.append(case_from_trace(trace, cluster_id=cluster, stratum=key))
    seen = {c.digest for c in cases}
    extra = [c for c in fixed if c.digest not in seen]
    return CaseSet(
        name=name,
        suite=Suite.regression,
        cases=tuple(sorted(cases, key=lambda c: c.case_id)) + tuple(extra),
        detail={
            "size": size,
            "seed": seed,
            "population": len(traces),
            "strata": {k: quotas[k] for k in sorted(quotas) if quotas[k]},
            "fixed_failures": len(extra),
        },
    )


def blocking_set(traces: Sequence[Trace], *, name: str = "blocking") -> CaseSet:
    """Severe cases chosen by people: no case that passes at baseline may fail."""
    cases = tuple(case_from_trace(t, stratum="blocking") for t in traces)
    return CaseSet(name=name, suite=Suite.blocking, cases=cases, detail={"size": len(cases)})


def _allocate(sizes: dict[str, int], total: int) -> dict[str, int]:
    population = sum(sizes.values())
    if population == 0:
        return {}
    exact = {k: total * n / population for k, n in sizes.items()}
    quotas = {k: math.floor(v) for k, v in exact.items()}
    if total >= len(sizes):  # every stratum is represented
        quotas = {key: max(quota, 1) for key, quota in quotas.items()}
    left = total - sum(quotas.values())
    by_remainder = sorted(sizes, key=lambda k: (-(exact[k] - math.floor(exact[k])), k))
    for key in by_remainder:
        if left <= 0:
            break
        if quotas[key] < sizes[key]:
            quotas[key] += 1
            left -= 1
    while left < 0:  # the minimum of one overshot: take back from the largest strata
        key = max(quotas, key=lambda k: (quotas[k], k))
        quotas[key] -= 1
        left += 1
    return quotas


# -- from the store ----------------------------------------------------------------------------


def build_validation_slice(
    store: Store, cluster_id: str, *, holdout: float = 0.3, seed: int = 0
) -> CaseSet:
    """The held-out slice of a stored cluster's member traces."""
    with store.engine.connect() as conn:
        pks = list(
            conn.execute(
                select(ClusterMemberRow.trace_pk).where(ClusterMemberRow.cluster_id == cluster_id)
            ).scalars()
        )
    if not pks:
        raise UserError(
            f"cluster '{cluster_id}' has no traces; list clusters with `flywheel clusters`"
        )
    stored = list(store.iter_traces(pks=pks))
    signals = {s.trace.trace_id: [x.kind.value for x in store.signals_of(s.pk)] for s in stored}
    return validation_set(
        [s.trace for s in stored],
        cluster_id=cluster_id,
        holdout=holdout,
        seed=seed,
        signals=signals,
    )


def build_regression_set(
    store: Store, *, size: int = 500, days: float = 7.0, seed: int = 0, fixed: Sequence[Case] = ()
) -> CaseSet:
    """A stratified sample of the last ``days`` of stored traffic (by trace time)."""
    with store.engine.connect() as conn:
        newest = conn.execute(
            select(TraceRow.timestamp).order_by(TraceRow.timestamp.desc()).limit(1)
        ).scalar()
        clusters = dict(
            conn.execute(select(ClusterMemberRow.trace_pk, ClusterMemberRow.cluster_id)).all()
        )
    since = newest - timedelta(days=days) if newest is not None else None
    population: list[tuple[Trace, str | None]] = []
    for item in store.iter_traces():
        if since is not None and item.trace.timestamp is not None and _before(item, since):
            continue
        population.append((item.trace, clusters.get(item.pk)))
    if not population:
        raise UserError("no stored traces to sample a regression set from; run `flywheel ingest`")
    return regression_set(population, size=size, seed=seed, fixed=fixed)


def fixed_failures(store: Store) -> list[Case]:
    """Every failure a shipped fix repaired, as replay cases: the core's regression eval set.

    Each replays its original request and checks that the original failure signals do not
    recur (the validated output stays in the eval set as the export's reference: an exact
    reference match would fail on harmless wording noise between repeats).
    """
    cases = []
    for item in regression_cases(store):
        try:
            stored = store.get_trace(item.origin.trace_id, item.origin.source)
        except FlywheelError:
            continue  # the trace was deleted; the eval set keeps its record
        signals = [signal.kind.value for signal in store.signals_of(stored.pk)]
        cases.append(
            case_from_trace(
                stored.trace, cluster_id=item.origin.cluster_id, stratum="fixed", signals=signals
            )
        )
    return cases


def build_blocking_set(store: Store, trace_ids: Sequence[str]) -> CaseSet:
    if not trace_ids:
        raise UserError("name the severe traces of the blocking set (trace ids)")
    return blocking_set([store.get_trace(trace_id).trace for trace_id in trace_ids])


def _before(item: StoredTrace, since: Any) -> bool:
    stamp = item.trace.timestamp
    if stamp is None:
        return False
    if stamp.tzinfo is None and since.tzinfo is not None:
        since = since.replace(tzinfo=None)
    elif stamp.tzinfo is not None and since.tzinfo is None:
        stamp = stamp.replace(tzinfo=None)
    return bool(stamp < since)
