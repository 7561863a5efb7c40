"""identity: nodes, signing keys, departments, clients, users; messaging tables

Revision ID: 20261122_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from shared.messaging_tables import create_messaging_tables, drop_messaging_tables

revision = "20261122_0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    ]


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "node",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("zone", sa.String(10), nullable=False),
        sa.Column("is_local", sa.Boolean, nullable=False),
        *_timestamps(),
    )
    op.create_index("ux_node_local", "node", ["is_local"], unique=True,
                    postgresql_where=sa.text("is_local"))
    op.create_table(
        "signing_key",
        sa.Column("kid", sa.String(32), primary_key=True),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "department",
        sa.Column("credit_code", sa.String(18), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False, index=True),
        *_timestamps(),
    )
    op.create_table(
        "client",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department", sa.String(18), sa.ForeignKey("department.credit_code"),
                  nullable=False, index=True),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("roles", sa.ARRAY(sa.String(32)), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_reason", sa.Text),
        *_timestamps(),
    )
    op.create_table(
        "user_account",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("department", sa.String(18), sa.ForeignKey("department.credit_code"),
                  index=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("roles", sa.ARRAY(sa.String(32)), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
        *_timestamps(),
    )


def downgrade() -> None:
    for table in ("user_account", "client", "department", "signing_key", "node"):
        op.drop_table(table)
    drop_messaging_tables()
