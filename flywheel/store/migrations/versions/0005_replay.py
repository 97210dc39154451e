"""Replay: case sets and their cases, replay runs, per-case results, gate decisions, fixed failures.

Revision ID: 0005
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replay_case_sets",
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("suite", sa.String(length=20), nullable=False),
        sa.Column("cluster_id", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_replay_case_sets")),
    )
    op.create_index(
        "ix_replay_case_sets_suite_cluster",
        "replay_case_sets",
        ["suite", "cluster_id"],
        unique=False,
    )
    op.create_table(
        "replay_cases",
        sa.Column("set_digest", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=512), nullable=False),
        sa.Column("case_digest", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_digest"],
            ["replay_case_sets.digest"],
            name=op.f("fk_replay_cases_set_digest_replay_case_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("set_digest", "position", name=op.f("pk_replay_cases")),
    )
    op.create_table(
        "replay_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("candidate_id", sa.String(length=200), nullable=True),
        sa.Column("config_digest", sa.String(length=32), nullable=False),
        sa.Column("config_dir", sa.Text(), nullable=False),
        sa.Column("config_commit", sa.String(length=64), nullable=True),
        sa.Column("set_digest", sa.String(length=32), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_runs")),
    )
    op.create_index(
        op.f("ix_replay_runs_candidate_id"), "replay_runs", ["candidate_id"], unique=False
    )
    op.create_table(
        "replay_results",
        sa.Column("config_digest", sa.String(length=32), nullable=False),
        sa.Column("case_digest", sa.String(length=32), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=512), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error_kind", sa.String(length=20), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("scorer_key", sa.String(length=500), nullable=False),
        sa.Column("session_id", sa.String(length=512), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("tool_calls", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("trace", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "config_digest", "case_digest", "repeat", name=op.f("pk_replay_results")
        ),
    )
    op.create_index(op.f("ix_replay_results_run_id"), "replay_results", ["run_id"], unique=False)
    op.create_table(
        "replay_gate_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.String(length=200), nullable=False),
        sa.Column("cluster_id", sa.String(length=64), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("baseline_digest", sa.String(length=32), nullable=False),
        sa.Column("candidate_digest", sa.String(length=32), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_gate_decisions")),
    )
    op.create_index(
        op.f("ix_replay_gate_decisions_candidate_id"),
        "replay_gate_decisions",
        ["candidate_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_replay_gate_decisions_cluster_id"),
        "replay_gate_decisions",
        ["cluster_id"],
        unique=False,
    )
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


def downgrade() -> None:
    op.drop_table("replay_fixed_failures")
    op.drop_index(op.f("ix_replay_gate_decisions_cluster_id"), table_name="replay_gate_decisions")
    op.drop_index(op.f("ix_replay_gate_decisions_candidate_id"), table_name="replay_gate_decisions")
    op.drop_table("replay_gate_decisions")
    op.drop_index(op.f("ix_replay_results_run_id"), table_name="replay_results")
    op.drop_table("replay_results")
    op.drop_index(op.f("ix_replay_runs_candidate_id"), table_name="replay_runs")
    op.drop_table("replay_runs")
    op.drop_table("replay_cases")
    op.drop_index("ix_replay_case_sets_suite_cluster", table_name="replay_case_sets")
    op.drop_table("replay_case_sets")
