"""evaluation: facts kept from events, the information-system registry, the scoring
method's versions; messaging tables

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


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _code(name: str, *, index: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(18), nullable=False, index=index)


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "node_profile",
        sa.Column("node_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tier", sa.String(12), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
    )
    op.create_table(
        "department",
        sa.Column("credit_code", sa.String(18), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tier", sa.String(12), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        _at("registered_at", nullable=False),
    )
    op.create_table(
        "catalog_entry",
        sa.Column("code", sa.String(60), primary_key=True),
        _code("provider", index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("update_cycle", sa.String(16), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _at("published_at"),
        _at("withdrawn_at"),
    )
    op.create_table(
        "catalog_trigger",
        sa.Column("trigger_id", sa.Uuid, primary_key=True),
        _code("department", index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("resolved_on", sa.Date),
    )
    op.create_table(
        "request_fact",
        sa.Column("id", sa.Uuid, primary_key=True),
        _code("provider", index=True),
        _code("consumer", index=True),
        sa.Column("entry_code", sa.String(60), nullable=False),
        sa.Column("share_type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _at("submitted_at", nullable=False),
        sa.Column("due_on", sa.Date),
        _at("answered_at"),
        sa.Column("approved", sa.Boolean),
        sa.Column("reason", sa.Text),
        sa.Column("late", sa.Boolean),
        _at("withdrawn_at"),
    )
    op.create_table(
        "stale_flag",
        sa.Column("entry_code", sa.String(60), primary_key=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), primary_key=True),
        _code("provider", index=True),
        sa.Column("update_cycle", sa.String(16), nullable=False),
    )
    op.create_table(
        "objection_fact",
        sa.Column("id", sa.Uuid, primary_key=True),
        _code("provider", index=True),
        _code("consumer"),
        sa.Column("entry_code", sa.String(60), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _at("raised_at", nullable=False),
        _at("resolved_at"),
    )
    op.create_table(
        "duplicate_flag",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        _code("provider", index=True),
        sa.Column("entry_code", sa.String(60), nullable=False),
        sa.Column("item_code", sa.String(50), nullable=False),
        _code("responsible_department"),
        _at("flagged_at", nullable=False),
    )
    op.create_table(
        "usage_fact",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        _code("consumer", index=True),
        _code("provider", index=True),
        sa.Column("entry_code", sa.String(60), nullable=False, index=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("purpose", sa.String(32)),
        sa.Column("denied", sa.String(32)),
        sa.Column("actor", sa.String(64), index=True),
        sa.Column("day", sa.Date, nullable=False, index=True),
        sa.Column("accesses", sa.Integer, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
    )
    op.create_table(
        "system_client",
        sa.Column("client_id", sa.String(64), primary_key=True),
        _code("department", index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "information_system",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        _code("department", index=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("funding_source", sa.String(24), nullable=False),
        sa.Column("construction_funding", sa.Numeric(16, 2), nullable=False),
        sa.Column("annual_om_funding", sa.Numeric(16, 2), nullable=False),
        sa.Column("resource_codes", sa.ARRAY(sa.String(60)), nullable=False),
        sa.Column("client_ids", sa.ARRAY(sa.String(64)), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("filed_by", sa.String(64), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        _at("retired_at"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("department", "name", name="uq_system_department_name"),
    )
    op.create_table(
        "scoring_method",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("method", JSONB, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )


def downgrade() -> None:
    for table in ("scoring_method", "information_system", "system_client", "usage_fact",
                  "duplicate_flag", "objection_fact", "stale_flag", "request_fact",
                  "catalog_trigger", "catalog_entry", "department", "node_profile"):
        op.drop_table(table)
    drop_messaging_tables()
