"""Failing traces with their signatures, read through a per-trace signature cache.

Building a signature means decoding the trace, reading its signals and computing its symptoms
(about 2 ms a trace). A full re-cluster reads every failing trace each time, so the result is
kept in ``signature_cache``, one row per trace, keyed by the signature settings and the trace's
content hash: a warm run reads small rows instead of rebuilding 10,000 signatures. A row is
rebuilt when the settings, the trace or its signals change (re-detection deletes it), or when
`SIGNATURE_VERSION` is raised because the signature code changed. With the ``diagnosis`` part,
the rebuilt traces get their diagnoses from the LLM first, many calls in flight at once; a
trace whose diagnosis failed keeps an empty one for this run and no cache row, so the next run
asks again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select

from flywheel.clustering._diagnosis import Diagnoser, diagnosis_settings, make_diagnoser
from flywheel.clustering._signature import (
    build_signature,
    check_parts,
    request_text,
    structural_features,
)
from flywheel.config import ClusteringConfig
from flywheel.detectors import Detection, DetectionRun, fingerprint, stored_detections
from flywheel.llm import LLMClient
from flywheel.store import Store
from flywheel.store._codec import decode_payload
from flywheel.store._tables import ClusterMemberRow, SignatureRow, TraceRow
from flywheel.trace import Trace

#: Raise when a signature part or a symptom reads traces differently: cached rows are rebuilt.
SIGNATURE_VERSION = 6

_CHUNK = 500


@dataclass(frozen=True)
class FailingTrace:
    pk: int
    trace_id: str
    timestamp: datetime | None
    signature: str
    request: str
    features: tuple[str, ...] = ()
    #: The LLM could not write the ``diagnosis`` part: it is empty and the signature uncached.
    diagnosis_failed: bool = False


def signature_settings(config: ClusteringConfig, llm: LLMClient | None = None) -> str:
    """The cache key of the signature settings of ``config`` (and of the diagnosis model, when
    the ``diagnosis`` part is configured: another model rebuilds the signatures)."""
    settings: dict[str, Any] = {
        "version": SIGNATURE_VERSION,
        "parts": list(config.signature_parts),
        "max_part_chars": config.max_part_chars,
        "max_signature_chars": config.max_signature_chars,
        "detectors": fingerprint(),
        **diagnosis_settings(config.signature_parts, llm),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]


def load_failing(
    store: Store,
    config: ClusteringConfig,
    *,
    since: datetime | None = None,
    pks: Sequence[int] | None = None,
    exclude_members: bool = False,
    llm: LLMClient | None = None,
) -> list[FailingTrace]:
    """Failing traces (or the traces ``pks``) with their signatures, sorted by (trace id, pk).

    ``llm`` writes the ``diagnosis`` part when it is configured (a `UserError` when its stage
    has no model); other parts never call it.
    """
    check_parts(config.signature_parts)
    diagnoser = make_diagnoser(config.signature_parts, llm)
    settings = signature_settings(config, llm)
    query = select(
        TraceRow.id,
        TraceRow.trace_id,
        TraceRow.timestamp,
        TraceRow.content_hash,
        SignatureRow.settings,
        SignatureRow.content_hash.label("cached_hash"),
        SignatureRow.signature,
        SignatureRow.request,
        SignatureRow.features,
    ).outerjoin(SignatureRow, SignatureRow.trace_pk == TraceRow.id)
    if pks is None:
        query = query.where(TraceRow.failing.is_(True))
    if since is not None:
        query = query.where(TraceRow.timestamp >= since)
    if exclude_members:
        query = query.where(TraceRow.id.not_in(select(ClusterMemberRow.trace_pk)))
    rows: list[Any] = []
    with store.engine.connect() as conn:
        if pks is None:
            rows = list(conn.execute(query))
        else:
            for start in range(0, len(pks), _CHUNK):
                chunk = list(pks[start : start + _CHUNK])
                rows.extend(conn.execute(query.where(TraceRow.id.in_(chunk))))
    out: list[FailingTrace] = []
    stale: list[Any] = []
    for row in rows:
        if row.settings != settings or row.cached_hash != row.content_hash:
            stale.append(row)
            continue
        features = tuple(row.features.get("names", ()))
        out.append(
            FailingTrace(
                row.id, row.trace_id, utc(row.timestamp), row.signature, row.request, features
            )
        )
    for start in range(0, len(stale), _CHUNK):
        out.extend(_build(store, config, settings, stale[start : start + _CHUNK], diagnoser))
    out.sort(key=lambda item: (item.trace_id, item.pk))
    return out


def _build(
    store: Store,
    config: ClusteringConfig,
    settings: str,
    rows: Sequence[Any],
    diagnoser: Diagnoser | None,
) -> list[FailingTrace]:
    """Signatures of ``rows`` built from their traces, and written to the cache (unless their
    diagnosis failed)."""
    pks = [row.id for row in rows]
    hashes = {row.id: row.content_hash for row in rows}
    signals = store.signals_by_trace(pks)
    stored = stored_detections(store, pks)
    with store.engine.connect() as conn:
        payloads = conn.execute(select(TraceRow.id, TraceRow.payload).where(TraceRow.id.in_(pks)))
        traces = {pk: Trace.model_validate_json(decode_payload(raw)) for pk, raw in payloads}
    diagnoses = diagnoser.diagnose(traces) if diagnoser is not None else {}
    built = []
    for row in rows:
        trace = traces[row.id]
        found = signals.get(row.id, [])
        signature = build_signature(
            trace,
            found,
            parts=config.signature_parts,
            max_part_chars=config.max_part_chars,
            max_signature_chars=config.max_signature_chars,
            diagnosis=diagnoses.get(row.id, ""),
        )
        built.append(
            FailingTrace(
                row.id,
                row.trace_id,
                utc(row.timestamp),
                signature,
                request_text(trace),
                tuple(structural_features(trace, found, _detections(stored.get(row.id)))),
                diagnosis_failed=diagnoser is not None and row.id not in diagnoses,
            )
        )
    cached = [
        {
            "trace_pk": item.pk,
            "settings": settings,
            "content_hash": hashes[item.pk],
            "signature": item.signature,
            "request": item.request,
            "features": {"names": list(item.features)},
        }
        for item in built
        if not item.diagnosis_failed
    ]
    with store.engine.begin() as conn:
        conn.execute(delete(SignatureRow).where(SignatureRow.trace_pk.in_(pks)))
        if cached:
            conn.execute(insert(SignatureRow), cached)
    return built


def _detections(run: DetectionRun | None) -> list[Detection] | None:
    return run.detections if run is not None else None


def utc(moment: datetime | None) -> datetime | None:
    """``moment`` as an aware UTC datetime (SQLite returns naive ones)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
