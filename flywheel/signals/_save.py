"""Writing signal results: replace a trace's signals (and a failing trace's detections) and
set its score and flag, in one go.

The update requires the trace version that was read: a trace that a
concurrent ingest replaced meanwhile keeps ``failing`` NULL and is evaluated again next time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine, Table, and_, bindparam, delete, insert, update

from flywheel.store._tables import DetectionRow, SignalRow, SignatureRow, TraceRow
from flywheel.trace import FailureSignal

_CHUNK = 500


@dataclass(frozen=True)
class Verdict:
    """The signals of one trace version, its combined score and whether it fails."""

    pk: int
    version: int
    signals: list[FailureSignal]
    score: float
    failing: bool
    #: The `DetectionRow` values of a failing trace's detections (`flywheel.detectors`).
    detections: dict[str, Any] | None = None


def save_verdicts(engine: Engine, verdicts: Sequence[Verdict]) -> None:
    """Replace the signals of each trace and set its failure score and flag (one transaction)."""
    if not verdicts:
        return
    pks = [v.pk for v in verdicts]
    traces = cast(Table, TraceRow.__table__)
    with engine.begin() as conn:
        for start in range(0, len(pks), _CHUNK):
            chunk = pks[start : start + _CHUNK]
            conn.execute(delete(SignalRow).where(SignalRow.trace_pk.in_(chunk)))
            # A signature may read the signals: the cached one is stale now.
            conn.execute(delete(SignatureRow).where(SignatureRow.trace_pk.in_(chunk)))
            conn.execute(delete(DetectionRow).where(DetectionRow.trace_pk.in_(chunk)))
        rows = [
            {
                "trace_pk": v.pk,
                "kind": s.kind.value,
                "strength": s.strength,
                "evidence": s.evidence,
                "step_id": s.step_id,
                "detail": s.detail,
            }
            for v in verdicts
            for s in v.signals
        ]
        if rows:
            conn.execute(insert(SignalRow), rows)
        detected = [v.detections for v in verdicts if v.detections is not None]
        if detected:
            conn.execute(insert(DetectionRow), detected)
        conn.execute(
            update(traces)
            .where(
                and_(
                    traces.c.id == bindparam("b_pk"),
                    traces.c.version == bindparam("b_version"),
                )
            )
            .values(failure_score=bindparam("b_score"), failing=bindparam("b_failing")),
            [
                {"b_pk": v.pk, "b_version": v.version, "b_score": v.score, "b_failing": v.failing}
                for v in verdicts
            ],
        )
