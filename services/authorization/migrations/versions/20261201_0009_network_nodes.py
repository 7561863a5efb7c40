"""the nodes of the network beyond the linked ones, each reached through a neighbour (F5)

Revision ID: 20261201_0009
Revises: 20261128_0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "20261201_0009"
down_revision = "20261128_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_node",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("zone", sa.String(10), nullable=False),
        sa.Column("via", sa.String(64), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_index("ix_network_node_via", "network_node", ["via"])


def downgrade() -> None:
    op.drop_table("network_node")
