"""duplicate-collection flags end when cleared; only flags standing in a period count

Revision ID: 20261128_0008
Revises: 20261128_0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "20261128_0008"
down_revision = "20261128_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duplicate_clearance",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("provider", sa.String(18), nullable=False),
        sa.Column("entry_code", sa.String(60), nullable=False),
        sa.Column("item_code", sa.String(50), nullable=False),
        sa.Column("responsible_department", sa.String(18), nullable=False),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_duplicate_clearance_entry_item", "duplicate_clearance",
                    ["entry_code", "item_code"])


def downgrade() -> None:
    op.drop_table("duplicate_clearance")
