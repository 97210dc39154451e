"""Join the nightly runs and the eval sets into one head again.

Revision ID: 0010
Revises: 0008_nightly, 0009_datasets
"""

revision = "0010"
down_revision = ("0008_nightly", "0009_datasets")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
