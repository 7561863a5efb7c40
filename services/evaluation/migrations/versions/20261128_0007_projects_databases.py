"""information projects' resource catalogs and the database registry (C8), for funding
eligibility [51 §21]

Revision ID: 20261128_0007
Revises: 20261128_0006
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "20261128_0007"
down_revision = "20261128_0006"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "project_fact",
        sa.Column("project_id", sa.Uuid, primary_key=True),
        sa.Column("department", sa.String(18), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("planned_resources", ARRAY(sa.String(200)), nullable=False),
        sa.Column("accepted_codes", ARRAY(sa.String(60))),
        _at("filed_at", nullable=False),
        _at("accepted_at"),
    )
    op.create_table(
        "database_fact",
        sa.Column("database_id", sa.Uuid, primary_key=True),
        sa.Column("department", sa.String(18), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("resource_codes", ARRAY(sa.String(60)), nullable=False),
        _at("changed_at", nullable=False),
        _at("registered_at", nullable=False),
        _at("deregistered_at"),
    )


def downgrade() -> None:
    op.drop_table("database_fact")
    op.drop_table("project_fact")
