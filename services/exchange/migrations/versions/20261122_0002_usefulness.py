"""usefulness reports: consumers' feedback on the data they received

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
        "usefulness_report",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("entry_code", sa.String(60), nullable=False, index=True),
        sa.Column("consumer", sa.String(18), nullable=False, index=True),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("reported_by", sa.String(64), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_usefulness_rating"),
    )


def downgrade() -> None:
    op.drop_table("usefulness_report")
