"""The app's tables: hash-chained audit log, approval queue, decisions, ship events.

Revision ID: 0006
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ui_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ui_audit_log")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_ui_audit_log_prev_hash")),
        sa.UniqueConstraint("hash", name=op.f("uq_ui_audit_log_hash")),
    )
    op.create_index(op.f("ix_ui_audit_log_action"), "ui_audit_log", ["action"], unique=False)
    op.create_index(op.f("ix_ui_audit_log_subject"), "ui_audit_log", ["subject"], unique=False)
    op.create_table(
        "ui_candidates",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("cluster_id", sa.String(length=16), nullable=False),
        sa.Column("cluster_label", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=4), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("repo", sa.Text(), nullable=False),
        sa.Column("branch", sa.String(length=300), nullable=False),
        sa.Column("main_branch", sa.String(length=300), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("base_sha", sa.String(length=64), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("replay_run", sa.String(length=200), nullable=False),
        sa.Column("gate", sa.JSON(), nullable=False),
        sa.Column("flips", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ui_candidates")),
    )
    op.create_index(
        op.f("ix_ui_candidates_cluster_id"), "ui_candidates", ["cluster_id"], unique=False
    )
    op.create_index("ix_ui_candidates_queue", "ui_candidates", ["status", "priority"], unique=False)
    op.create_table(
        "ui_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["ui_candidates.id"],
            name=op.f("fk_ui_decisions_candidate_id_ui_candidates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ui_decisions")),
    )
    op.create_index(
        op.f("ix_ui_decisions_candidate_id"), "ui_decisions", ["candidate_id"], unique=False
    )
    op.create_table(
        "ui_ships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.String(length=200), nullable=False),
        sa.Column("cluster_id", sa.String(length=16), nullable=False),
        sa.Column("merge_sha", sa.String(length=64), nullable=False),
        sa.Column("approvers", sa.JSON(), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revert_sha", sa.String(length=64), nullable=True),
        sa.Column("rolled_back_by", sa.String(length=200), nullable=True),
        sa.Column("rolled_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["ui_candidates.id"],
            name=op.f("fk_ui_ships_candidate_id_ui_candidates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ui_ships")),
    )
    op.create_index(op.f("ix_ui_ships_candidate_id"), "ui_ships", ["candidate_id"], unique=False)
    op.create_index(op.f("ix_ui_ships_cluster_id"), "ui_ships", ["cluster_id"], unique=False)
    op.create_index(op.f("ix_ui_ships_shipped_at"), "ui_ships", ["shipped_at"], unique=False)


def downgrade() -> None:
    op.drop_table("ui_ships")
    op.drop_table("ui_decisions")
    op.drop_table("ui_candidates")
    op.drop_table("ui_audit_log")
