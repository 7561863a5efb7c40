"""what of an entry anyone may download without signing in (open data, W2)

An entry published before this revision is learned open at its next catalog event (a new
version, or a withdrawal); until then it offers no public download.

Revision ID: 20261128_0009
Revises: 20261128_0008
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261128_0009"
down_revision = "20261128_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("resource", sa.Column("open_items", postgresql.ARRAY(sa.String(50)),
                                        server_default="{}", nullable=False))


def downgrade() -> None:
    op.drop_column("resource", "open_items")
