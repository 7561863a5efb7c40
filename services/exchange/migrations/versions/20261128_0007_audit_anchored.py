"""the audit chain's sealed heads countersigned by the parent node; whose record was looked up
(E5, trust)

Revision ID: 20261128_0007
Revises: 20261128_0006
Create Date: 2026-11-28
"""

revision = "20261128_0007"
down_revision = "20261128_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
