"""catalog: C6 change triggers and loaded holiday schedules

Revision ID: 20261122_0002
Revises: 20261122_0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "20261122_0002"
down_revision = "20261122_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holiday_schedule",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("holidays", sa.ARRAY(sa.Date), nullable=False),
        sa.Column("adjusted_workdays", sa.ARRAY(sa.Date), nullable=False),
        sa.Column("loaded_by", sa.String(64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "change_trigger",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("department", sa.String(18), sa.ForeignKey("department.credit_code"),
                  nullable=False, index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False, index=True),
        sa.Column("calendar_basis", sa.ARRAY(sa.String(20)), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", sa.String(64)),
        sa.Column("resolution", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("change_trigger")
    op.drop_table("holiday_schedule")
