"""catalog: department read model, entries, versions, code sequences; messaging tables

Revision ID: 20261122_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.messaging_tables import create_messaging_tables, drop_messaging_tables

revision = "20261122_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "department",
        sa.Column("credit_code", sa.String(18), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
    )
    op.create_table(
        "code_sequence",
        sa.Column("front_segment", sa.String(40), primary_key=True),
        sa.Column("last_value", sa.Integer, nullable=False),
    )
    op.create_table(
        "entry",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("code", sa.String(60), nullable=False, unique=True),
        sa.Column("provider", sa.String(18), sa.ForeignKey("department.credit_code"),
                  nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("spec", JSONB, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.UniqueConstraint("provider", "name", name="uq_entry_provider_name"),
    )
    op.create_table(
        "entry_version",
        sa.Column("entry_id", sa.Uuid, sa.ForeignKey("entry.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("spec", JSONB, nullable=False),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )


def downgrade() -> None:
    for table in ("entry_version", "entry", "code_sequence", "department"):
        op.drop_table(table)
    drop_messaging_tables()
