"""Optimizer: candidates (and failed attempts), hand-offs, optimisation / validation splits.

Revision ID: 0004
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "optimizer_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("branch", sa.String(length=300), nullable=True),
        sa.Column("worktree", sa.Text(), nullable=True),
        sa.Column("base_commit", sa.String(length=64), nullable=True),
        sa.Column("head_commit", sa.String(length=64), nullable=True),
        sa.Column("root_cause", sa.String(length=60), nullable=False),
        sa.Column("fix_type", sa.String(length=40), nullable=False),
        sa.Column("files_changed", sa.JSON(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimizer_candidates")),
    )
    op.create_index(
        op.f("ix_optimizer_candidates_cluster_id"),
        "optimizer_candidates",
        ["cluster_id"],
        unique=False,
    )
    op.create_table(
        "optimizer_handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.String(length=64), nullable=False),
        sa.Column("root_cause", sa.String(length=60), nullable=False),
        sa.Column("owner", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimizer_handoffs")),
        sa.UniqueConstraint("cluster_id", "root_cause", name="uq_optimizer_handoffs_cluster_cause"),
    )
    op.create_table(
        "optimizer_splits",
        sa.Column("cluster_id", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("fraction", sa.Float(), nullable=False),
        sa.Column("optimisation_ids", sa.JSON(), nullable=False),
        sa.Column("validation_ids", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster_id", name=op.f("pk_optimizer_splits")),
    )


def downgrade() -> None:
    op.drop_table("optimizer_splits")
    op.drop_table("optimizer_handoffs")
    op.drop_index(op.f("ix_optimizer_candidates_cluster_id"), table_name="optimizer_candidates")
    op.drop_table("optimizer_candidates")
