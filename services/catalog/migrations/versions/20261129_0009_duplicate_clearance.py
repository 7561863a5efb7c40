"""catalog: a duplicate-collection flag that stopped standing is kept, with why (C7)

Revision ID: 20261129_0009
Revises: 20261128_0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "20261129_0009"
down_revision = "20261128_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duplicate_collection_clearance",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("entry_code", sa.String(60), nullable=False),
        sa.Column("item_code", sa.String(50), nullable=False),
        sa.Column("item_name", sa.String(500), nullable=False),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("responsible_department", sa.String(18), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("cleared_because", sa.String(24), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("duplicate_collection_clearance")
