"""Living eval sets: cases by role, set versions, the sign-off chain, holdout reads.

Revision ID: 0009_datasets
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_datasets"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_cases",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("trace_id", sa.String(length=512), nullable=False),
        sa.Column("cluster_id", sa.String(length=64), nullable=True),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_eval_cases")),
    )
    op.create_index("ix_eval_cases_role", "eval_cases", ["role"], unique=False)
    op.create_index(op.f("ix_eval_cases_trace_id"), "eval_cases", ["trace_id"], unique=False)
    op.create_index(op.f("ix_eval_cases_cluster_id"), "eval_cases", ["cluster_id"], unique=False)
    op.create_table(
        "eval_set_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("signoff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_set_versions")),
        sa.UniqueConstraint("role", "version", name="uq_eval_set_versions_role"),
    )
    op.create_table(
        "dataset_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_audit")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_dataset_audit_prev_hash")),
        sa.UniqueConstraint("hash", name=op.f("uq_dataset_audit_hash")),
    )
    op.create_index(op.f("ix_dataset_audit_action"), "dataset_audit", ["action"], unique=False)
    op.create_table(
        "holdout_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reader", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holdout_reads")),
    )


def downgrade() -> None:
    op.drop_table("holdout_reads")
    op.drop_index(op.f("ix_dataset_audit_action"), table_name="dataset_audit")
    op.drop_table("dataset_audit")
    op.drop_table("eval_set_versions")
    op.drop_index(op.f("ix_eval_cases_cluster_id"), table_name="eval_cases")
    op.drop_index(op.f("ix_eval_cases_trace_id"), table_name="eval_cases")
    op.drop_index("ix_eval_cases_role", table_name="eval_cases")
    op.drop_table("eval_cases")
