"""exchange: read models, front-end store, loads, source APIs, audit chain, subscriptions,
objections, cross-checks; messaging tables

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


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=None if nullable else sa.func.now())


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "resource",
        sa.Column("code", sa.String(60), primary_key=True),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("update_cycle", sa.String(16), nullable=False),
        sa.Column("items", JSONB, nullable=False),
        sa.Column("key_items", sa.ARRAY(sa.String(50)), nullable=False),
        _at("last_loaded_at", nullable=True),
        _at("stale_since", nullable=True),
    )
    op.create_table(
        "grant_view",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("consumer", sa.String(18), nullable=False),
        sa.Column("entry_code", sa.String(60), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("snapshot", JSONB, nullable=False),
    )
    op.create_index("ix_grant_view_consumer_entry", "grant_view", ["consumer", "entry_code"])
    op.execute("CREATE SEQUENCE record_seq")
    op.create_table(
        "record",
        sa.Column("entry_code", sa.String(60), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False,
                  server_default=sa.text("nextval('record_seq')")),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        _at("updated_at"),
    )
    op.create_index("ix_record_entry_seq", "record", ["entry_code", "seq"])
    op.create_table(
        "record_load",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("entry_code", sa.String(60), nullable=False, index=True),
        sa.Column("provider", sa.String(18), nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("rejections", JSONB, nullable=False),
        sa.Column("loaded_by", sa.String(64), nullable=False),
        _at("started_at"),
        _at("finished_at", nullable=True),
    )
    op.create_table(
        "source_api",
        sa.Column("entry_code", sa.String(60), primary_key=True),
        sa.Column("url_template", sa.Text, nullable=False),
        sa.Column("registered_by", sa.String(64), nullable=False),
        _at("registered_at"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("consumer", sa.String(18), nullable=False, index=True),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("entry_code", sa.String(60), nullable=False, index=True),
        sa.Column("grant_id", sa.Uuid),
        sa.Column("purpose", sa.String(32)),
        sa.Column("items", sa.ARRAY(sa.String(50)), nullable=False),
        sa.Column("record_count", sa.Integer, nullable=False),
        sa.Column("denied", sa.String(32)),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        _at("at"),
        sa.Column("position", sa.BigInteger, unique=True),
        sa.Column("prev_hash", sa.String(64)),
        sa.Column("hash", sa.String(64)),
    )
    op.create_index("ix_audit_entry_at", "audit_entry", ["at"])
    # The sealer's work list: entries not yet in the chain.
    op.create_index("ix_audit_entry_unsealed", "audit_entry", ["id"],
                    postgresql_where=sa.text("position IS NULL"))
    op.create_table(
        "audit_checkpoint",
        sa.Column("position", sa.BigInteger, primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        _at("sealed_at"),
    )
    op.create_table(
        "subscription",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("consumer", sa.String(18), nullable=False, index=True),
        sa.Column("entry_code", sa.String(60), nullable=False, index=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("items", sa.ARRAY(sa.String(50)), nullable=False),
        sa.Column("delivery", sa.String(10), nullable=False),
        sa.Column("topic", sa.String(200)),
        sa.Column("webhook_url", sa.Text),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("delivered", sa.BigInteger, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        _at("next_attempt_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
        _at("created_at"),
    )
    op.create_table(
        "objection",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("entry_code", sa.String(60), nullable=False, index=True),
        sa.Column("record_key", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("consumer", sa.String(18), nullable=False, index=True),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("raised_by", sa.String(64), nullable=False),
        _at("raised_at"),
        _at("verifying_at", nullable=True),
        _at("resolved_at", nullable=True),
        sa.Column("resolved_by", sa.String(64)),
        sa.Column("resolution", sa.Text),
        sa.Column("correction", JSONB),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "cross_check",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("left_entry", sa.String(60), nullable=False),
        sa.Column("left_item", sa.String(50), nullable=False),
        sa.Column("right_entry", sa.String(60), nullable=False),
        sa.Column("right_item", sa.String(50), nullable=False),
        sa.Column("compared", sa.Integer, nullable=False),
        sa.Column("mismatched", sa.Integer, nullable=False),
        sa.Column("samples", JSONB, nullable=False),
        sa.Column("run_by", sa.String(64), nullable=False),
        _at("run_at"),
    )


def downgrade() -> None:
    for table in ("cross_check", "objection", "subscription", "audit_checkpoint",
                  "audit_entry", "source_api", "record_load", "record", "grant_view",
                  "resource"):
        op.drop_table(table)
    op.execute("DROP SEQUENCE record_seq")
    drop_messaging_tables()
