"""cross-checks of an item held by two sources, counted against both providers

Revision ID: 20261128_0006
Revises: 20261128_0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "20261128_0006"
down_revision = "20261128_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crosscheck_fact",
        sa.Column("check_id", sa.Uuid, primary_key=True),
        sa.Column("left_entry", sa.String(60), nullable=False),
        sa.Column("left_item", sa.String(50), nullable=False),
        sa.Column("left_provider", sa.String(18), nullable=False, index=True),
        sa.Column("right_entry", sa.String(60), nullable=False),
        sa.Column("right_item", sa.String(50), nullable=False),
        sa.Column("right_provider", sa.String(18), nullable=False, index=True),
        sa.Column("compared", sa.Integer, nullable=False),
        sa.Column("mismatched", sa.Integer, nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("crosscheck_fact")
