"""the yearly reports and quarters' figures child nodes hand up (F7)

Revision ID: 20261201_0010
Revises: 20261128_0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261201_0010"
down_revision = "20261128_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_submission",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("child", sa.String(64), nullable=False),
        sa.Column("child_tier", sa.String(12), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("figures", postgresql.JSONB, nullable=False),
        sa.Column("file_format", sa.String(4)),
        sa.Column("file", sa.LargeBinary),
        sa.Column("file_digest", sa.String(64)),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date),
        sa.Column("on_time", sa.Boolean),
    )
    op.create_index("ix_report_submission_child", "report_submission", ["child"])
    op.create_index("ix_report_submission_period", "report_submission", ["period"])


def downgrade() -> None:
    op.drop_table("report_submission")
