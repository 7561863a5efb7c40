"""rectification items announced once each, once the year's report is due

Revision ID: 20261128_0009
Revises: 20261128_0008
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "20261128_0009"
down_revision = "20261128_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rectification_announcement",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("department", sa.String(18), primary_key=True),
        sa.Column("indicator", sa.String(40), primary_key=True),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("rectification_announcement")
