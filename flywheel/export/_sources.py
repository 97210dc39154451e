"""Where export records come from: validated cases of the eval sets (promoted fixes with a
reference output) and production traces with strong positive feedback and no failure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from flywheel.datasets import EvalCase, HoldoutGuard, Provenance, list_cases
from flywheel.store import Store
from flywheel.store._tables import SignalRow, TraceRow
from flywheel.trace import SignalKind, Trace


@dataclass(frozen=True)
class Item:
    """One candidate record before it is built: its traces, answer and provenance."""

    source: str  # validated_case | positive_trace
    trace: Trace
    provenance: Provenance
    timestamp: datetime | None
    answer: str | None = None
    #: The validated run whose tool calls go into the chat (None: the answer alone).
    answer_trace: Trace | None = None
    rejected: str | None = None
    case: EvalCase | None = None


def aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def validated_cases(store: Store) -> Iterator[Item]:
    """Eval cases (never the holdout) with a validated reference output and their trace."""
    for case in list_cases(store):
        if case.expected.reference_output is None:
            continue
        stored = store.get_trace(case.origin.trace_id, case.origin.source)
        provenance = case.provenance
        if not provenance.trace_ids:
            provenance = provenance.model_copy(update={"trace_ids": (case.origin.trace_id,)})
        yield Item(
            source="validated_case",
            trace=stored.trace,
            provenance=provenance,
            timestamp=aware(case.origin.timestamp or stored.trace.timestamp),
            answer=case.expected.reference_output,
            answer_trace=case.expected.reference_trace,
            rejected=case.failing_output,
            case=case,
        )


def positive_traces(store: Store, *, min_confidence: float, reader: str) -> Iterator[Item]:
    """Stored traces judged not failing whose positive feedback is at least ``min_confidence``
    strong; holdout traces and eval-set traces are left out (no eval contamination)."""
    excluded = HoldoutGuard(store, reader=reader).trace_ids()
    excluded |= {case.origin.trace_id for case in list_cases(store)}
    query = (
        select(SignalRow.trace_pk)
        .join(TraceRow, TraceRow.id == SignalRow.trace_pk)
        .where(SignalRow.kind == SignalKind.positive_feedback.value)
        .where(TraceRow.failing.is_(False))
        .group_by(SignalRow.trace_pk)
        .having(func.max(SignalRow.strength) >= min_confidence)
    )
    with store.engine.connect() as conn:
        pks = sorted(conn.execute(query).scalars().all())
    for start in range(0, len(pks), 500):
        for stored in store.iter_traces(pks=pks[start : start + 500]):
            if stored.trace.trace_id in excluded:
                continue
            yield Item(
                source="positive_trace",
                trace=stored.trace,
                provenance=Provenance(trace_ids=(stored.trace.trace_id,)),
                timestamp=aware(stored.trace.timestamp),
            )
