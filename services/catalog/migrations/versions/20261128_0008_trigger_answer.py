"""a change trigger is resolved by a catalog change: which entry version answered it (C6)

Revision ID: 20261128_0008
Revises: 20261122_0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "20261128_0008"
down_revision = "20261122_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: triggers resolved before this change were resolved by a note alone.
    op.add_column("change_trigger", sa.Column("answered_by_entry", sa.String(60)))
    op.add_column("change_trigger", sa.Column("answered_by_version", sa.Integer()))


def downgrade() -> None:
    op.drop_column("change_trigger", "answered_by_version")
    op.drop_column("change_trigger", "answered_by_entry")
