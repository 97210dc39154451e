"""Flagged trace timestamps and ingestion-run liveness.

``traces.timestamp_flag`` says why a trace's timestamp was left out of the ``timestamp``
column (outside the ingest window); rows already stored with such a timestamp are flagged
here against the default window around the time they were ingested. ``ingestion_runs`` gains
the host, pid and last batch time of the process, so that a killed run can be told apart
from a running one.

Revision ID: 0013
Revises: 0012
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: The defaults of ingest.max_future_hours and ingest.max_past_days.
_FUTURE = timedelta(hours=24)
_PAST = timedelta(days=3650)


def upgrade() -> None:
    op.add_column("traces", sa.Column("timestamp_flag", sa.String(length=300), nullable=True))
    op.add_column("ingestion_runs", sa.Column("host", sa.String(length=255), nullable=True))
    op.add_column("ingestion_runs", sa.Column("pid", sa.Integer(), nullable=True))
    op.add_column(
        "ingestion_runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True)
    )
    _flag_existing()


def _flag_existing() -> None:
    traces = sa.table(
        "traces",
        sa.column("id", sa.Integer),
        sa.column("timestamp", sa.DateTime(timezone=True)),
        sa.column("ingested_at", sa.DateTime(timezone=True)),
        sa.column("timestamp_flag", sa.String),
    )
    conn = op.get_bind()
    # Every trace was ingested before now, so a timestamp too far after now is too far
    # after its ingest; the index on timestamp finds those and the too-old candidates.
    now = datetime.now(UTC)
    rows = conn.execute(
        sa.select(traces.c.id, traces.c.timestamp, traces.c.ingested_at).where(
            sa.or_(traces.c.timestamp > now + _FUTURE, traces.c.timestamp < now - _PAST)
        )
    ).all()
    for row in rows:
        stamp = _utc(row.timestamp)
        if stamp - now > _FUTURE:
            where = "after"
        elif _utc(row.ingested_at) - stamp > _PAST:
            where = "before"
        else:
            continue
        conn.execute(
            sa.update(traces)
            .where(traces.c.id == row.id)
            .values(
                timestamp=None,
                timestamp_flag=f"timestamp {stamp.isoformat()} is too long {where} the ingest "
                "time (flagged on upgrade)",
            )
        )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def downgrade() -> None:
    with op.batch_alter_table("ingestion_runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("pid")
        batch.drop_column("host")
    with op.batch_alter_table("traces") as batch:
        batch.drop_column("timestamp_flag")
