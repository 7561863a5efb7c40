"""a provider's own API may be called with a credential, kept sealed (系统对接, trust)

Revision ID: 20261128_0008
Revises: 20261128_0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "20261128_0008"
down_revision = "20261128_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_api", sa.Column("credential_header", sa.String(64)))
    op.add_column("source_api", sa.Column("credential", sa.Text))


def downgrade() -> None:
    op.drop_column("source_api", "credential")
    op.drop_column("source_api", "credential_header")
