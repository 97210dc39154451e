"""The weekly reads: which week is "this week", its overview and the failing rate per week.

"This week" is the seven days up to the newest trace that is not in the future (so a
historical or demo data set has a week too, and a producer with a broken clock does not move
it). Two index-only counts per week, whatever the store holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select

from flywheel.store import Store
from flywheel.store._tables import (
    TraceRow,
)

WEEK = timedelta(days=7)
#: A trace stamped later than this after the wall clock does not anchor "this week".
ANCHOR_SLACK = timedelta(days=1)
#: The earliest week end from which two weeks back is still a date.
_EARLIEST_END = datetime.min.replace(tzinfo=UTC) + 3 * WEEK


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Week(BaseModel):
    start: datetime
    end: datetime
    traces: int
    failing: int

    @property
    def failing_rate(self) -> float | None:
        return self.failing / self.traces if self.traces else None


class WeekOverview(BaseModel):
    this_week: Week
    last_week: Week
    daily: list[dict[str, Any]]


def reference_end(store: Store, now: datetime | None = None) -> datetime | None:
    """Just after the newest trace timestamp that is not in the future (the index answers this).

    Ingest leaves timestamps outside its window out of the column; this also passes over any
    still there (a database from before that rule), so that one trace stamped 9999-12-31
    neither overflows the date arithmetic of the pages nor moves everyone's week. ``now`` is
    the wall clock. The end is never so early that two weeks before it is not a date.
    """
    latest = (now or datetime.now(UTC)) + ANCHOR_SLACK
    with store.engine.connect() as conn:
        newest = conn.execute(
            select(func.max(TraceRow.timestamp)).where(TraceRow.timestamp <= latest)
        ).scalar_one_or_none()
    moment = _utc(newest)
    return max(moment + timedelta(microseconds=1), _EARLIEST_END) if moment else None


def _count(store: Store, start: datetime, end: datetime, *, failing: bool | None) -> int:
    # Each count reads one index only: ix_traces_timestamp, or ix_traces_failing (failing, ts).
    query = select(func.count()).where(TraceRow.timestamp >= start, TraceRow.timestamp < end)
    if failing is not None:
        query = query.where(TraceRow.failing == failing)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _week(store: Store, start: datetime, end: datetime) -> Week:
    return Week(
        start=start,
        end=end,
        traces=_count(store, start, end, failing=None),
        failing=_count(store, start, end, failing=True),
    )


def week_overview(store: Store, end: datetime) -> WeekOverview:
    this_week = _week(store, end - WEEK, end)
    last_week = _week(store, end - 2 * WEEK, end - WEEK)
    day = func.date(TraceRow.timestamp)
    window = (TraceRow.timestamp >= end - 2 * WEEK, TraceRow.timestamp < end)
    with store.engine.connect() as conn:
        by_day = select(day, func.count()).where(*window).group_by(day)
        totals: dict[Any, int] = dict(conn.execute(by_day).all())
        failing: dict[Any, int] = dict(
            conn.execute(
                select(day, func.count())
                .where(TraceRow.failing == True, *window)  # noqa: E712  (index on failing)
                .group_by(day)
            ).all()
        )
    daily = []
    for d, n in sorted(totals.items()):
        bad = int(failing.get(d, 0))
        daily.append({"day": str(d), "failing": "failing", "traces": bad})
        daily.append({"day": str(d), "failing": "ok", "traces": int(n) - bad})
    return WeekOverview(this_week=this_week, last_week=last_week, daily=daily)


def weekly_rates(store: Store, end: datetime, *, weeks: int = 8) -> list[Week]:
    """The failing rate of each of the ``weeks`` 7-day windows up to ``end``, oldest first
    (two index-only counts per week)."""
    return [_week(store, end - (k + 1) * WEEK, end - k * WEEK) for k in reversed(range(weeks))]
