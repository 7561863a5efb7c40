"""federation: linked nodes (parent, children) and link invitations

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
    op.add_column("node", sa.Column("relation", sa.String(8)))
    op.add_column("node", sa.Column("gateway_url", sa.String(500)))
    op.add_column("node", sa.Column("jwks_url", sa.String(500)))
    op.add_column("node", sa.Column("linked_at", sa.DateTime(timezone=True)))
    op.create_table(
        "link_invitation",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("child_node_id", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("link_invitation")
    for column in ("linked_at", "jwks_url", "gateway_url", "relation"):
        op.drop_column("node", column)
