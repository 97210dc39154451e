"""`detect_failures`: evaluate the stored traces that need it and record their signals.

Which traces: every trace whose ``failing`` is NULL (new, or replaced by a newer version),
plus every trace sharing a session with one of them, because a later turn can turn an earlier
one into a repeat or a rephrase; with ``recompute`` every trace. The per-route statistics and
the data-time "now" (newest trace timestamp, which makes abandonment reproducible) are read
once from the trace columns; payloads are read in batches that never split a session.

Anomalies are judged against the statistics at the time of the run: earlier verdicts are not
revised when a route's traffic shifts later, until a ``recompute``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from itertools import pairwise

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select

from flywheel.config import SignalsConfig
from flywheel.detectors import detect
from flywheel.detectors._stored import detection_row, fingerprint
from flywheel.signals._anomaly import RouteStats
from flywheel.signals._derive import combine, derive_signals
from flywheel.signals._save import Verdict, save_verdicts
from flywheel.signals._text import epoch
from flywheel.store import Store
from flywheel.store._codec import InvalidStoredTrace, decode_trace
from flywheel.store._tables import TraceRow
from flywheel.trace import Trace

#: Called after each saved batch with (traces evaluated so far, traces to evaluate).
DetectProgress = Callable[[int, int], None]

BATCH = 2000
_LOAD_CHUNK = 500


class DetectionReport(BaseModel):
    """What one `detect_failures` run did."""

    model_config = ConfigDict(extra="forbid")

    evaluated: int = Field(description="traces evaluated in this run")
    failing: int = Field(description="of those, traces now failing")
    total_failing: int = Field(description="failing traces in the whole store after the run")
    by_kind: dict[str, int] = Field(
        default_factory=dict, description="evaluated traces with at least one signal of a kind"
    )
    quarantined: int = Field(
        default=0, description="stored traces that no longer read back, moved to the quarantine"
    )


def detect_failures(
    store: Store,
    config: SignalsConfig,
    *,
    recompute: bool = False,
    on_progress: DetectProgress | None = None,
) -> DetectionReport:
    """Derive, combine and save the signals of every trace that needs it. Idempotent."""
    stats, now = route_statistics(store)
    todo = _traces_to_evaluate(store, recompute)
    evaluated = failing = quarantined = 0
    by_kind: Counter[str] = Counter()
    for batch in _batches(todo):
        loaded, bad = _load(store, batch)
        quarantined += bad
        verdicts = _evaluate(loaded, config, stats, now)
        save_verdicts(store.engine, verdicts)
        for verdict in verdicts:
            failing += verdict.failing
            by_kind.update({signal.kind.value for signal in verdict.signals})
        evaluated += len(verdicts)
        if on_progress is not None:
            on_progress(evaluated, len(todo))
    return DetectionReport(
        evaluated=evaluated,
        failing=failing,
        total_failing=store.count_traces(failing=True),
        by_kind=dict(sorted(by_kind.items())),
        quarantined=quarantined,
    )


def route_statistics(store: Store) -> tuple[dict[str | None, RouteStats], datetime | None]:
    """Latency, cost and tool-call statistics of every route, and the newest trace timestamp."""
    query = select(TraceRow.route, TraceRow.latency_ms, TraceRow.cost_usd, TraceRow.tool_calls)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
        newest = conn.execute(select(func.max(TraceRow.timestamp))).scalar_one()
    if not rows:
        return {}, newest
    routes, latency, cost, tools = zip(*rows, strict=True)
    codes: dict[str | None, int] = {}
    route_codes = np.fromiter((codes.setdefault(r, len(codes)) for r in routes), dtype=np.int64)
    columns = {
        "latency_ms": np.array(latency, dtype=np.float64),
        "cost_usd": np.array(cost, dtype=np.float64),
        "tool_calls": np.array(tools, dtype=np.float64),
    }
    stats: dict[str | None, RouteStats] = {}
    for route, code in codes.items():
        mask = route_codes == code
        stats[route] = RouteStats.from_values(
            route,
            latency_ms=columns["latency_ms"][mask],
            cost_usd=columns["cost_usd"][mask],
            tool_calls=columns["tool_calls"][mask],
        )
    return stats, newest


def _traces_to_evaluate(store: Store, recompute: bool) -> list[tuple[int, str | None]]:
    """(pk, session id) of the traces to evaluate, sessions kept together."""
    query = select(TraceRow.id, TraceRow.session_id).order_by(TraceRow.session_id, TraceRow.id)
    if not recompute:
        pending_sessions = select(TraceRow.session_id).where(
            TraceRow.failing.is_(None), TraceRow.session_id.is_not(None)
        )
        query = query.where(
            or_(TraceRow.failing.is_(None), TraceRow.session_id.in_(pending_sessions))
        )
    with store.engine.connect() as conn:
        return [(row.id, row.session_id) for row in conn.execute(query)]


def _batches(todo: Sequence[tuple[int, str | None]]) -> Iterator[list[int]]:
    """Batches of about `BATCH` pks; a session is never split between two batches."""
    batch: list[int] = []
    previous: str | None = None
    for pk, session in todo:
        if len(batch) >= BATCH and (session is None or session != previous):
            yield batch
            batch = []
        batch.append(pk)
        previous = session
    if batch:
        yield batch


def _evaluate(
    loaded: list[tuple[int, int, str | None, str, Trace]],
    config: SignalsConfig,
    stats: dict[str | None, RouteStats],
    now: datetime | None,
) -> list[Verdict]:
    sessions: defaultdict[str, list[Trace]] = defaultdict(list)
    for *_, trace in loaded:
        if trace.session_id is not None and trace.timestamp is not None:
            sessions[trace.session_id].append(trace)
    successor: dict[int, Trace] = {}
    for members in sessions.values():
        members.sort(key=_order)
        for before, after in pairwise(members):
            successor[id(before)] = after
    verdicts = []
    registry = fingerprint()
    for pk, version, route, content_hash, trace in loaded:
        following = successor.get(id(trace))
        signals = derive_signals(
            trace,
            config=config,
            session=(following,) if following is not None else (),
            route_stats=stats.get(route),
            now=now,
        )
        score, failing = combine(signals, config)
        # How it failed, for clustering and triage to read: once, here, for failing traces.
        detected = (
            detection_row(pk, content_hash, detect(trace, signals), registry) if failing else None
        )
        verdicts.append(Verdict(pk, version, signals, score, failing, detected))
    return verdicts


def _order(trace: Trace) -> tuple[float, str]:
    return (epoch(trace.timestamp) if trace.timestamp else 0.0, trace.trace_id)


def _load(
    store: Store, pks: list[int]
) -> tuple[list[tuple[int, int, str | None, str, Trace]], int]:
    """(pk, version, route, content hash, trace) of each pk, in pk order, and how many were
    quarantined because their payload no longer reads back as a trace."""
    loaded = []
    invalid: list[tuple[int, InvalidStoredTrace]] = []
    with store.engine.connect() as conn:
        for start in range(0, len(pks), _LOAD_CHUNK):
            query = select(
                TraceRow.id,
                TraceRow.version,
                TraceRow.route,
                TraceRow.content_hash,
                TraceRow.payload,
            ).where(TraceRow.id.in_(pks[start : start + _LOAD_CHUNK]))
            for row in conn.execute(query):
                try:
                    trace = decode_trace(row.payload)
                except InvalidStoredTrace as exc:
                    invalid.append((row.id, exc))
                    continue
                loaded.append((row.id, row.version, row.route, row.content_hash, trace))
    for pk, problem in invalid:
        store.quarantine_stored(pk, problem)
    loaded.sort(key=lambda item: item[0])
    return loaded, len(invalid)
