"""Holm's family: the candidates of one cluster gated on one validation slice version.

The target-slice test is corrected with Holm (1979) across *every* candidate of a cluster
that is gated against the same validation slice version, including the ones gated later.
Two designs keep that honest when candidates arrive one at a time; this module uses the
first and offers the second as an option:

1. **Re-evaluation (always).** Storing a decision re-runs Holm over the whole family (the
   latest raw p-value of each member) and rewrites every member's stored decision whose
   adjusted p-value, family size or verdict changed. The stored decisions therefore always
   equal Holm over the family as it stands, and the final decisions, once every candidate is
   gated, control the family-wise error at alpha exactly as one batch Holm would. Replay
   cannot know in advance how many candidates an optimizer will propose (the optimizers are
   another package, and a later optimizer run may add candidates on the same slice), so a
   fixed family size alone could be too small — and then the error rate is not controlled.
2. **A declared family size (optional, ``family_size``).** When the caller knows how many
   candidates were proposed for the cluster (the nightly stage does), members not gated yet
   count as p = 1. Holm is monotone (a smaller p-value elsewhere never removes a rejection),
   so a pass given early can then never turn into a fail when the rest of the family arrives;
   a fail whose only reason was significance can still turn into a pass. Without a declared
   size, a pass can be withdrawn when the family grows — the price of honesty, recorded in
   the revised report's ``revised`` note.

A new slice version (the cluster's cases changed) starts a new family. The revision runs in
the transaction that stores the new decision; on PostgreSQL a transaction-scoped advisory
lock per cluster serialises two gates of one cluster, on SQLite the first write does.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from flywheel.store._tables import utcnow
from replay._gate import GateReport, holm_in_family
from replay._store import ReplayStore
from replay._tables import GateDecisionRow


def record_gate_decision(
    store: ReplayStore,
    report: GateReport,
    *,
    baseline_digest: str,
    candidate_digest: str,
    family_size: int | None = None,
) -> GateReport:
    """Store ``report`` and revise the Holm family it joins; returns the stored report.

    The returned report (and every other member's stored one) is corrected over the family
    of candidates of ``report.cluster_id`` gated on ``report.target.slice_digest``, of size
    ``max(family_size, members gated)``. A report without a cluster, slice or p-value is
    stored as it is.
    """
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql" and report.cluster_id is not None:
            key = zlib.crc32(f"flywheel-holm:{report.cluster_id}".encode())
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        row_id = _insert(conn, report, baseline_digest, candidate_digest)
        target = report.target
        if report.cluster_id is None or target.slice_digest is None or target.p_value is None:
            return report
        members = _family(conn, report.cluster_id, target.slice_digest)
        raw = {cid: float(r["target"]["p_value"]) for cid, (_, r) in members.items()}
        declared = max(
            [family_size or 0, *(r["target"]["family_size"] for _, r in members.values())]
        )
        mine = report
        for cid, (member_id, stored) in members.items():
            old = GateReport.model_validate(stored)
            adjusted, size = holm_in_family(cid, raw[cid], raw, declared)
            new = old.with_family(adjusted, size)
            if member_id == row_id:
                mine = new
            if new == old:
                continue
            if member_id != row_id and new.decision != old.decision:
                new = new.model_copy(
                    update={
                        "revised": (
                            f"{old.decision} -> {new.decision}: candidate "
                            f"{report.candidate_id} joined the Holm family "
                            f"({size} candidates on slice {target.slice_digest[:12]})"
                        )
                    }
                )
            conn.execute(
                update(GateDecisionRow)
                .where(GateDecisionRow.id == member_id)
                .values(decision=new.decision, report=new.model_dump(mode="json"))
            )
        return mine


def family_p_values(store: ReplayStore, cluster_id: str, slice_digest: str) -> dict[str, float]:
    """The latest raw p-value of every candidate gated on this cluster's slice version."""
    with store.engine.connect() as conn:
        members = _family(conn, cluster_id, slice_digest)
    return {cid: float(report["target"]["p_value"]) for cid, (_, report) in members.items()}


def _insert(
    conn: Connection, report: GateReport, baseline_digest: str, candidate_digest: str
) -> int:
    result = conn.execute(
        insert(GateDecisionRow).values(
            candidate_id=report.candidate_id,
            cluster_id=report.cluster_id,
            decision=report.decision,
            p_value=report.target.p_value,
            baseline_digest=baseline_digest,
            candidate_digest=candidate_digest,
            report=report.model_dump(mode="json"),
            created_at=utcnow(),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _family(
    conn: Connection, cluster_id: str, slice_digest: str
) -> dict[str, tuple[int, dict[str, Any]]]:
    """Latest decision (row id, report) of each candidate of the cluster gated on the slice."""
    query = (
        select(GateDecisionRow.id, GateDecisionRow.candidate_id, GateDecisionRow.report)
        .where(GateDecisionRow.cluster_id == cluster_id)
        .order_by(GateDecisionRow.id)
    )
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    for row_id, candidate_id, report in conn.execute(query):
        latest[candidate_id] = (row_id, report)  # a re-gate replaces the candidate's entry
    return {
        cid: (row_id, report)
        for cid, (row_id, report) in latest.items()
        if report.get("target", {}).get("slice_digest") == slice_digest
        and report["target"].get("p_value") is not None
    }
