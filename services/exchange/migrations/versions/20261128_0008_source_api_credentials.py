"""a provider's own API may be called with a credential, kept sealed (系统对接, trust)

Revision ID: 20261128_0008
Revises: 20261128_0007
Create Date: 2026-11-28
"""

revision = "20261128_0008"
down_revision = "20261128_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
