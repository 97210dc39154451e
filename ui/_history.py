"""What the Replay runs page shows: nightly runs, the drift of main, replay runs.

Drift is main's pass rate on the regression set over time. The nightly's ``drift`` stage
records it night by night (`flywheel.nightly.drift_history`); before the first nightly (or for
runs made by hand) it is read from replay's own baseline runs on regression case sets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from flywheel.nightly import build_report, drift_history
from flywheel.nightly._tables import NightlyRunRow
from flywheel.store import Store
from replay import ReplayStore, Suite
from replay._tables import ReplayRunRow


class DriftPoint(BaseModel):
    at: datetime
    pass_rate: float | None
    cases: int
    #: "nightly" (the drift stage) or "replay" (a baseline replay of a regression set)
    source: str


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def replay_drift(store: Store, *, limit: int = 500) -> list[DriftPoint]:
    """Main's regression pass rate from replay's baseline runs (no candidate), oldest first."""
    digests = [row["digest"] for row in ReplayStore(store).list_case_sets(Suite.regression)]
    if not digests:
        return []
    query = (
        select(ReplayRunRow.finished_at, ReplayRunRow.counts)
        .where(
            ReplayRunRow.candidate_id.is_(None),
            ReplayRunRow.set_digest.in_(digests),
            ReplayRunRow.status == "completed",
            ReplayRunRow.finished_at.is_not(None),
        )
        .order_by(ReplayRunRow.finished_at.desc())
        .limit(limit)
    )
    points = []
    with store.engine.connect() as conn:
        for finished, counts in conn.execute(query):
            passed, failed = int(counts.get("pass", 0)), int(counts.get("fail", 0))
            judged = passed + failed
            points.append(
                DriftPoint(
                    at=_utc(finished),
                    pass_rate=passed / judged if judged else None,
                    cases=judged + int(counts.get("error", 0)),
                    source="replay",
                )
            )
    return points[::-1]


def main_drift(store: Store) -> list[DriftPoint]:
    """The nightly's drift history, or replay's baseline runs when there is none yet."""
    nightly = [
        DriftPoint(at=at, pass_rate=rate, cases=cases, source="nightly")
        for at, rate, cases in drift_history(store)
    ]
    return nightly or replay_drift(store)


def nightly_runs(store: Store, *, limit: int = 30) -> list[dict[str, Any]]:
    """The newest nightly runs: id, status, start, finish, error."""
    query = (
        select(
            NightlyRunRow.id,
            NightlyRunRow.status,
            NightlyRunRow.started_at,
            NightlyRunRow.finished_at,
            NightlyRunRow.error,
        )
        .order_by(NightlyRunRow.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def nightly_stages(store: Store, run_id: int) -> list[dict[str, Any]]:
    """One nightly run's stages as table rows (name, status, seconds, attempts, summary)."""
    report = build_report(store, run_id)
    return [
        {
            "stage": stage.name,
            "status": stage.status,
            "seconds": stage.seconds,
            "attempts": stage.attempts,
            "summary": ", ".join(f"{k}: {v}" for k, v in stage.summary.items())[:300],
            "error": stage.error,
        }
        for stage in report.stages
    ]


def replay_run_rows(store: Store, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest replay runs with their pass / fail / error counts."""
    rows = []
    for run in ReplayStore(store).runs(limit=limit):
        counts = run.get("counts") or {}
        rows.append(
            {
                "run": str(run["id"])[:12],
                "label": run["label"],
                "candidate": run["candidate_id"] or "(baseline)",
                "case set": str(run["set_digest"])[:12],
                "status": run["status"],
                "pass": counts.get("pass"),
                "fail": counts.get("fail"),
                "error": counts.get("error"),
                "started": run["started_at"],
            }
        )
    return rows
