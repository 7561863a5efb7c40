"""a load records what its committed batches stored, so a load cut short can be closed and
resumed: the last line committed and when

Revision ID: 20261128_0006
Revises: 20261128_0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "20261128_0006"
down_revision = "20261128_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("record_load", sa.Column("last_line", sa.Integer, nullable=False,
                                           server_default="0"))
    op.add_column("record_load", sa.Column("committed_at", sa.DateTime(timezone=True)))
    # The loads still running: the few the closing job looks at, among every load ever made.
    op.create_index("ix_record_load_running", "record_load", ["id"],
                    postgresql_where=sa.text("status = 'running'"))


def downgrade() -> None:
    op.drop_index("ix_record_load_running", table_name="record_load")
    op.drop_column("record_load", "committed_at")
    op.drop_column("record_load", "last_line")
