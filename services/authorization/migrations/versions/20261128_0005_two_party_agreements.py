"""agreements both parties confirm, with a validity; disputes routed by the parties' tiers (A6, A3)

Revision ID: 20261128_0005
Revises: 20261122_0004
Create Date: 2026-11-28
"""

revision = "20261128_0005"
down_revision = "20261122_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
