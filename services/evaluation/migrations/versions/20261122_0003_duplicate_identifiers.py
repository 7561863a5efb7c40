"""duplicate flags say whether the item identifies the record's subject

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
    op.add_column("duplicate_flag", sa.Column("identifies_subject", sa.Boolean, nullable=False,
                                              server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("duplicate_flag", "identifies_subject")
