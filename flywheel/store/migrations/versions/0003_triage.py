"""Triage: records of the triage agent and reviewers' labels.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "triage_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.String(length=16), nullable=False),
        sa.Column("cluster_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("root_cause", sa.String(length=40), nullable=False),
        sa.Column("component", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=2), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("fixable", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("fix_type", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_triage_records_cluster_id_clusters")
        ),
        sa.ForeignKeyConstraint(
            ["cluster_run_id"],
            ["cluster_runs.id"],
            name=op.f("fk_triage_records_cluster_run_id_cluster_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_records")),
    )
    op.create_index(
        op.f("ix_triage_records_cluster_id"), "triage_records", ["cluster_id"], unique=False
    )
    op.create_table(
        "triage_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.String(length=16), nullable=False),
        sa.Column("root_cause", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=2), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_triage_labels_cluster_id_clusters")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["triage_records.id"],
            name=op.f("fk_triage_labels_record_id_triage_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_labels")),
    )
    op.create_index(
        op.f("ix_triage_labels_cluster_id"), "triage_labels", ["cluster_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_triage_labels_cluster_id"), table_name="triage_labels")
    op.drop_table("triage_labels")
    op.drop_index(op.f("ix_triage_records_cluster_id"), table_name="triage_records")
    op.drop_table("triage_records")
