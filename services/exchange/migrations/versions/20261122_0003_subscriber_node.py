"""subscriptions of departments on other nodes: their changes go to that node (F2)

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
    op.add_column("subscription", sa.Column("node", sa.String(64)))


def downgrade() -> None:
    op.drop_column("subscription", "node")
