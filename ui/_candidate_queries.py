"""The candidate reads: candidates per cluster and state, replay runs, gate outcomes, ships."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import case, func, select

from flywheel.store import Store
from flywheel.store._tables import (
    ClusterMemberRow,
)
from ui._week_queries import WEEK, _utc
from ui.approvals.tables import CandidateRow, ShipRow


class ShipLine(BaseModel):
    candidate_id: str
    cluster_id: str
    cluster_label: str
    merge_sha: str
    shipped_at: datetime
    approvers: list[str]
    rolled_back: bool
    failing_week_before: int
    failing_week_after: int


def ships(store: Store, *, limit: int = 20) -> list[ShipLine]:
    """The latest shipped fixes and their effect: the cluster's failures a week before/after."""
    with store.engine.connect() as conn:
        # Named columns, not the ShipRow entity: on a Core connection an entity in select()
        # expands to its columns, so row[0] would be the ship's id, not a ShipRow.
        rows = conn.execute(
            select(
                ShipRow.candidate_id,
                ShipRow.cluster_id,
                ShipRow.merge_sha,
                ShipRow.shipped_at,
                ShipRow.approvers,
                ShipRow.revert_sha,
                CandidateRow.cluster_label,
            )
            .join(CandidateRow, CandidateRow.id == ShipRow.candidate_id)
            .order_by(ShipRow.shipped_at.desc())
            .limit(limit)
        ).all()
        lines = []
        for ship in rows:
            at = _utc(ship.shipped_at)
            assert at is not None
            window = ClusterMemberRow.cluster_id == ship.cluster_id
            before, after = conn.execute(
                select(
                    func.coalesce(func.sum(case((ClusterMemberRow.timestamp < at, 1), else_=0)), 0),
                    func.coalesce(
                        func.sum(case((ClusterMemberRow.timestamp >= at, 1), else_=0)), 0
                    ),
                ).where(
                    window,
                    ClusterMemberRow.timestamp >= at - WEEK,
                    ClusterMemberRow.timestamp < at + WEEK,
                )
            ).one()
            lines.append(
                ShipLine(
                    candidate_id=ship.candidate_id,
                    cluster_id=ship.cluster_id,
                    cluster_label=ship.cluster_label,
                    merge_sha=ship.merge_sha,
                    shipped_at=at,
                    approvers=list(ship.approvers.get("names", [])),
                    rolled_back=ship.revert_sha is not None,
                    failing_week_before=int(before),
                    failing_week_after=int(after),
                )
            )
    return lines


def candidate_counts(store: Store) -> dict[str, int]:
    query = select(CandidateRow.status, func.count()).group_by(CandidateRow.status)
    with store.engine.connect() as conn:
        return {str(status): int(n) for status, n in conn.execute(query)}


def replay_runs(store: Store, *, limit: int = 50) -> list[dict[str, Any]]:
    """Replay runs the gated candidates cite (the nightly history lives in replay/)."""
    query = (
        select(
            CandidateRow.replay_run,
            CandidateRow.id,
            CandidateRow.cluster_id,
            CandidateRow.status,
            CandidateRow.created_at,
            CandidateRow.gate,
        )
        .order_by(CandidateRow.created_at.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [
            {
                "replay_run": row.replay_run,
                "candidate": row.id,
                "cluster": row.cluster_id,
                "status": row.status,
                "gated_at": row.created_at,
                "gate_passed": bool(row.gate.get("passed")),
                "target_fixed": row.gate.get("target_fixed"),
                "target_broken": row.gate.get("target_broken"),
            }
            for row in conn.execute(query)
        ]


class CandidateLine(BaseModel):
    id: str
    status: str
    gate_passed: bool
    target_fixed: int
    target_broken: int
    target_cases: int
    author: str
    created_at: datetime


def cluster_candidates(store: Store, cluster_id: str, *, limit: int = 50) -> list[CandidateLine]:
    """The candidate fixes proposed for one cluster, newest first (index on cluster_id)."""
    query = (
        select(
            CandidateRow.id,
            CandidateRow.status,
            CandidateRow.gate,
            CandidateRow.author,
            CandidateRow.created_at,
        )
        .where(CandidateRow.cluster_id == cluster_id)
        .order_by(CandidateRow.created_at.desc(), CandidateRow.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        CandidateLine(
            id=row.id,
            status=row.status,
            gate_passed=bool(row.gate.get("passed")),
            target_fixed=int(row.gate.get("target_fixed") or 0),
            target_broken=int(row.gate.get("target_broken") or 0),
            target_cases=int(row.gate.get("target_cases") or 0),
            author=row.author,
            created_at=_utc(row.created_at) or row.created_at,
        )
        for row in rows
    ]


class GateOutcome(BaseModel):
    """A candidate whose latest replay gate decision did not pass, and the gate's reasons."""

    candidate_id: str
    cluster_id: str | None
    decision: str
    reasons: list[str]
    target_fixed: int | None
    target_broken: int | None
    target_cases: int | None
    decided_at: datetime


def gate_outcomes(
    store: Store, decisions: tuple[str, ...] = ("fail", "inconclusive"), *, limit: int = 200
) -> list[GateOutcome]:
    """Candidates whose latest gate decision is one of ``decisions``, newest first."""
    from replay._tables import GateDecisionRow

    latest = (
        select(func.max(GateDecisionRow.id).label("id"))
        .group_by(GateDecisionRow.candidate_id)
        .subquery()
    )
    query = (
        select(
            GateDecisionRow.candidate_id,
            GateDecisionRow.cluster_id,
            GateDecisionRow.decision,
            GateDecisionRow.report,
            GateDecisionRow.created_at,
        )
        .join(latest, latest.c.id == GateDecisionRow.id)
        .where(GateDecisionRow.decision.in_(decisions))
        .order_by(GateDecisionRow.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    outcomes = []
    for row in rows:
        report = row.report or {}
        target = report.get("target") or {}
        outcomes.append(
            GateOutcome(
                candidate_id=row.candidate_id,
                cluster_id=row.cluster_id,
                decision=row.decision,
                reasons=[str(r) for r in report.get("reasons") or []],
                target_fixed=target.get("fixed"),
                target_broken=target.get("broken"),
                target_cases=target.get("cases"),
                decided_at=_utc(row.created_at) or row.created_at,
            )
        )
    return outcomes
