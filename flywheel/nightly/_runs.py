"""The nightly tables: start or resume a run, record each stage, read the drift history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, update

from flywheel.nightly._tables import NightlyRunRow, NightlyStageRow
from flywheel.store import Store
from flywheel.store._tables import utcnow

UNFINISHED = ("running", "failed")


class StageRecord(BaseModel):
    """A stage row as the pipeline and the report read it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    position: int
    status: str
    attempts: int
    seconds: float
    summary: dict[str, Any]
    counts: dict[str, Any]
    error: str
    started_at: datetime | None = None
    finished_at: datetime | None = None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def unfinished_run(store: Store) -> int | None:
    """The newest run, if it did not finish (running: it crashed; failed: a stage raised)."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(NightlyRunRow.id, NightlyRunRow.status).order_by(NightlyRunRow.id.desc())
        ).first()
    return int(row.id) if row is not None and row.status in UNFINISHED else None


def latest_run(store: Store) -> int | None:
    with store.engine.connect() as conn:
        value = conn.execute(select(NightlyRunRow.id).order_by(NightlyRunRow.id.desc())).scalar()
    return None if value is None else int(value)


def start_run(store: Store, stages: list[str], options: dict[str, Any]) -> int:
    """A new run; an unfinished older one is marked ``abandoned`` (never resumed)."""
    with store.engine.begin() as conn:
        conn.execute(
            update(NightlyRunRow)
            .where(NightlyRunRow.status.in_(UNFINISHED))
            .values(status="abandoned", finished_at=utcnow())
        )
        result = conn.execute(
            insert(NightlyRunRow).values(
                started_at=utcnow(),
                status="running",
                stages={"names": stages},
                options=options,
                error="",
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def run_info(store: Store, run_id: int) -> dict[str, Any]:
    with store.engine.connect() as conn:
        row = conn.execute(select(NightlyRunRow).where(NightlyRunRow.id == run_id)).one()
    return {
        "id": row.id,
        "status": row.status,
        "stages": list(row.stages.get("names", [])),
        "options": dict(row.options),
        "started_at": _utc(row.started_at),
        "finished_at": _utc(row.finished_at),
        "error": row.error,
    }


def set_run_status(store: Store, run_id: int, status: str, error: str = "") -> None:
    values: dict[str, Any] = {"status": status, "error": error}
    if status in ("finished", "failed"):
        values["finished_at"] = utcnow()
    with store.engine.begin() as conn:
        conn.execute(update(NightlyRunRow).where(NightlyRunRow.id == run_id).values(**values))


def stage_records(store: Store, run_id: int) -> dict[str, StageRecord]:
    query = (
        select(NightlyStageRow)
        .where(NightlyStageRow.run_id == run_id)
        .order_by(NightlyStageRow.position)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return {
        row.name: StageRecord(
            name=row.name,
            position=row.position,
            status=row.status,
            attempts=row.attempts,
            seconds=row.seconds,
            summary=dict(row.summary),
            counts=dict(row.counts),
            error=row.error,
            started_at=_utc(row.started_at),
            finished_at=_utc(row.finished_at),
        )
        for row in rows
    }


def begin_stage(store: Store, run_id: int, name: str, position: int) -> None:
    """Mark a stage running (a new row, or one more attempt of an interrupted one)."""
    with store.engine.begin() as conn:
        existing = conn.execute(
            select(NightlyStageRow.id, NightlyStageRow.attempts).where(
                NightlyStageRow.run_id == run_id, NightlyStageRow.name == name
            )
        ).first()
        values = {"status": "running", "started_at": utcnow(), "finished_at": None, "error": ""}
        if existing is None:
            conn.execute(
                insert(NightlyStageRow).values(
                    run_id=run_id,
                    name=name,
                    position=position,
                    attempts=1,
                    seconds=0.0,
                    summary={},
                    counts={},
                    **values,
                )
            )
        else:
            conn.execute(
                update(NightlyStageRow)
                .where(NightlyStageRow.id == existing.id)
                .values(attempts=existing.attempts + 1, **values)
            )


def end_stage(
    store: Store,
    run_id: int,
    name: str,
    *,
    status: str,
    seconds: float,
    summary: dict[str, Any] | None = None,
    counts: dict[str, Any] | None = None,
    error: str = "",
) -> None:
    values: dict[str, Any] = {
        "status": status,
        "finished_at": utcnow(),
        "seconds": round(seconds, 3),
        "error": error,
    }
    if summary is not None:
        values["summary"] = summary
    if counts is not None:
        values["counts"] = counts
    with store.engine.begin() as conn:
        conn.execute(
            update(NightlyStageRow)
            .where(NightlyStageRow.run_id == run_id, NightlyStageRow.name == name)
            .values(**values)
        )


def drift_history(store: Store) -> list[tuple[datetime, float | None, int]]:
    """Main's pass rate on the regression set, night by night: (run time, pass rate, cases).

    Read from the finished ``drift`` stages (whose summary carries ``pass_rate`` and
    ``cases``), oldest first.
    """
    query = (
        select(NightlyStageRow.finished_at, NightlyStageRow.summary)
        .where(NightlyStageRow.name == "drift", NightlyStageRow.status == "finished")
        .order_by(NightlyStageRow.finished_at, NightlyStageRow.id)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    history: list[tuple[datetime, float | None, int]] = []
    for row in rows:
        moment = _utc(row.finished_at)
        if moment is None or "pass_rate" not in row.summary:
            continue
        rate = row.summary.get("pass_rate")
        history.append(
            (moment, None if rate is None else float(rate), int(row.summary.get("cases", 0)))
        )
    return history
