"""Drop ``replay_fixed_failures``: nothing ever wrote or read it.

Fixed failures come from the core's regression eval set
(`replay._cases.fixed_failures` reads `regression_cases`); the table meant for them stayed empty.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("replay_fixed_failures")


def downgrade() -> None:
    op.create_table(
        "replay_fixed_failures",
        sa.Column("case_digest", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=512), nullable=False),
        sa.Column("cluster_id", sa.String(length=64), nullable=True),
        sa.Column("candidate_id", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("fixed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_digest", name=op.f("pk_replay_fixed_failures")),
    )
