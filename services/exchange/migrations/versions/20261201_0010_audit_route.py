"""an audited call from another node keeps the nodes it came through (F5)

Revision ID: 20261201_0010
Revises: 20261128_0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "20261201_0010"
down_revision = "20261128_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_entry", sa.Column("route", sa.ARRAY(sa.String(64))))


def downgrade() -> None:
    op.drop_column("audit_entry", "route")
