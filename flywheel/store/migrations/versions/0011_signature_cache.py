"""Cached failure signatures: a full re-cluster reads them instead of rebuilding each trace's.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signature_cache",
        sa.Column("trace_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("settings", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trace_pk"],
            ["traces.id"],
            name=op.f("fk_signature_cache_trace_pk_traces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("trace_pk", name=op.f("pk_signature_cache")),
    )


def downgrade() -> None:
    op.drop_table("signature_cache")
