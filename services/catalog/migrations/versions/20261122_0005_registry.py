"""catalog: C8 database registry and information projects' resource catalogs

Revision ID: 20261122_0005
Revises: 20261122_0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "20261122_0005"
down_revision = "20261122_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registered_database",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("department", sa.String(18), sa.ForeignKey("department.credit_code"),
                  nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("dbms", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("resource_codes", sa.ARRAY(sa.String(60)), nullable=False),
        sa.Column("status", sa.String(14), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("registered_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )
    op.create_table(
        "information_project",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("department", sa.String(18), sa.ForeignKey("department.credit_code"),
                  nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("planned_resources", sa.ARRAY(sa.String(200)), nullable=False),
        sa.Column("accepted_codes", sa.ARRAY(sa.String(60))),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("information_project")
    op.drop_table("registered_database")
