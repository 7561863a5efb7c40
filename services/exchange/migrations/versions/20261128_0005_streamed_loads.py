"""streamed records are counted on their entry until the freshness sweep announces them

Revision ID: 20261128_0005
Revises: 20261122_0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "20261128_0005"
down_revision = "20261122_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("ingested_accepted", "ingested_rejected"):
        op.add_column("resource", sa.Column(column, sa.Integer, nullable=False,
                                            server_default="0"))


def downgrade() -> None:
    for column in ("ingested_accepted", "ingested_rejected"):
        op.drop_column("resource", column)
