"""entries keep their share attributes; when each entry's data reached the platform

Entries stored before keep empty share attributes (and count as owing no data) until their
next event or a rebuild of the facts.

Revision ID: 20261128_0005
Revises: 20261122_0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "20261128_0005"
down_revision = "20261122_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("catalog_entry", sa.Column("share_type", sa.String(16)))
    op.add_column("catalog_entry", sa.Column("share_channel", sa.String(12)))
    op.add_column("catalog_entry", sa.Column("share_methods", ARRAY(sa.String(24))))
    op.create_table(
        "entry_supply",
        sa.Column("entry_code", sa.String(60), primary_key=True),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("first_loaded_at", sa.DateTime(timezone=True)),
        sa.Column("last_loaded_at", sa.DateTime(timezone=True)),
        sa.Column("api_registered_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("entry_supply")
    for column in ("share_methods", "share_channel", "share_type"):
        op.drop_column("catalog_entry", column)
