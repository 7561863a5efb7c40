"""catalog: C7 collection-responsibility register and duplicate-collection flags

Revision ID: 20261122_0003
Revises: 20261122_0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "20261122_0003"
down_revision = "20261122_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_responsibility",
        sa.Column("item_code", sa.String(50), primary_key=True),
        sa.Column("item_name", sa.String(500), nullable=False),
        sa.Column("normalised_name", sa.String(500), nullable=False, index=True),
        sa.Column("department", sa.String(18), sa.ForeignKey("department.credit_code"),
                  nullable=False),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "duplicate_collection_flag",
        sa.Column("entry_id", sa.Uuid, sa.ForeignKey("entry.id"), primary_key=True),
        sa.Column("item_code", sa.String(50), primary_key=True),
        sa.Column("item_name", sa.String(500), nullable=False),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("responsible_department", sa.String(18), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )


def downgrade() -> None:
    op.drop_table("duplicate_collection_flag")
    op.drop_table("collection_responsibility")
