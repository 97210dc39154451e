"""Stored detections: written once per failing trace by `flywheel.signals.detect_failures`,
read by clustering (features) and triage (facts), so both see the very same records.

A stored row names the detectors it came from (`fingerprint` of the registry: names,
symptoms, evidence, and `DETECTORS_VERSION` of the built-in code) and the trace version. A
row that matches neither the current registry nor the trace is ignored by the readers, which
then run the detectors themselves: a new plugin or a replaced trace never reads stale
detections.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from flywheel.detectors._registry import (
    Detection,
    DetectionRun,
    DetectorFailure,
    DetectorRegistry,
    default_registry,
)
from flywheel.store import Store
from flywheel.store._tables import DetectionRow, TraceRow

#: Raise when a built-in detector reads traces differently: stored detections are rebuilt.
DETECTORS_VERSION = 3
_CHUNK = 500


def fingerprint(registry: DetectorRegistry | None = None) -> str:
    """Which detectors (and which declared evidence) a stored row was written with."""
    chosen = default_registry() if registry is None else registry
    contracts = [
        [item.contract.name, sorted((s, asdict(e)) for s, e in item.contract.emits.items())]
        for item in chosen
    ]
    text = json.dumps([DETECTORS_VERSION, contracts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def detection_row(pk: int, content_hash: str, run: DetectionRun, registry: str) -> dict[str, Any]:
    """The `DetectionRow` values of one trace's detections."""
    return {
        "trace_pk": pk,
        "detectors": registry,
        "content_hash": content_hash,
        "detections": [asdict(d) for d in run.detections],
        "failures": [
            {"detector": f.detector, "trace_id": f.trace_id, "error": f.error} for f in run.failures
        ],
    }


def stored_detections(
    store: Store, pks: Sequence[int], registry: DetectorRegistry | None = None
) -> dict[int, DetectionRun]:
    """The stored detections of each trace in ``pks`` that has current ones (others absent)."""
    current = fingerprint(registry)
    found: dict[int, DetectionRun] = {}
    query = select(
        DetectionRow.trace_pk,
        DetectionRow.detections,
        DetectionRow.failures,
        TraceRow.id,
    ).join(TraceRow, TraceRow.id == DetectionRow.trace_pk)
    with store.engine.connect() as conn:
        for start in range(0, len(pks), _CHUNK):
            chunk = list(pks[start : start + _CHUNK])
            rows = conn.execute(
                query.where(
                    DetectionRow.trace_pk.in_(chunk),
                    DetectionRow.detectors == current,
                    DetectionRow.content_hash == TraceRow.content_hash,
                )
            )
            for row in rows:
                found[row.trace_pk] = DetectionRun(
                    [Detection(**item) for item in row.detections],
                    [DetectorFailure(**item) for item in row.failures],
                )
    return found
