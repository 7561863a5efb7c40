"""a sensitive grant knows the last day of the agreement it rests on, so that the exchange
refuses it from then on without waiting for the lapse sweep (A6)

Revision ID: 20261128_0007
Revises: 20261128_0006
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "20261128_0007"
down_revision = "20261128_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("share_grant", sa.Column("covered_until", sa.Date))
    op.execute("""
        UPDATE share_grant AS g SET covered_until = a.valid_until
        FROM confidentiality_agreement AS a
        WHERE g.sensitive AND g.status = 'active' AND a.status = 'in_force'
          AND a.consumer = g.consumer AND a.entry_code = g.entry_code""")


def downgrade() -> None:
    op.drop_column("share_grant", "covered_until")
