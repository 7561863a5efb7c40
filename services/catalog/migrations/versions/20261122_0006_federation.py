"""federation: linked nodes, the feed pushed up with its cursors, aggregated entries,
receipts and version conflicts

Revision ID: 20261122_0006
Revises: 20261122_0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

revision = "20261122_0006"
down_revision = "20261122_0005"
branch_labels = None
depends_on = None


def _node(name: str) -> sa.Column:
    return sa.Column(name, sa.String(64), nullable=False)


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=None if nullable else sa.func.now())


def upgrade() -> None:
    op.create_table(
        "linked_node",
        sa.Column("node_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("relation", sa.String(8), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("zone", sa.String(10), nullable=False),
        sa.Column("gateway_url", sa.String(500), nullable=False),
        sa.Column("jwks_url", sa.String(500), nullable=False),
    )
    op.create_table(
        "federation_feed",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=True),
        _node("origin_node"),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("classified", sa.Boolean, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
    )
    op.create_table(
        "federation_cursor",
        sa.Column("node_id", sa.String(64), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
        _at("pushed_at", nullable=True),
        sa.Column("last_error", sa.Text),
    )
    op.create_table(
        "federated_entry",
        sa.Column("origin_node", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(60), primary_key=True),
        sa.Column("origin_tier", sa.String(20), nullable=False),
        sa.Column("origin_region", sa.String(6), nullable=False),
        sa.Column("path", sa.ARRAY(sa.String(64)), nullable=False),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("snapshot", JSONB, nullable=False),
        _at("published_at", nullable=True),
        _node("received_from"),
        _at("received_at"),
        sa.Column("top_class", sa.String(12)),
        sa.Column("share_type", sa.String(16)),
        sa.Column("share_methods", sa.ARRAY(sa.String(24))),
        sa.Column("search_vector", TSVECTOR),
    )
    op.create_index("ix_federated_entry_search", "federated_entry", ["search_vector"],
                    postgresql_using="gin")
    op.create_table(
        "federation_receipt",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("from_node", sa.String(64), nullable=False, index=True),
        _at("received_at"),
        sa.Column("payload", JSONB, nullable=False),
    )
    op.create_table(
        "federation_conflict",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        _node("origin_node"),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kept_hash", sa.String(64), nullable=False),
        sa.Column("discarded_hash", sa.String(64), nullable=False),
        sa.Column("discarded", JSONB, nullable=False),
        _node("from_node"),
        _at("detected_at"),
    )


def downgrade() -> None:
    for table in ("federation_conflict", "federation_receipt", "federated_entry",
                  "federation_cursor", "federation_feed", "linked_node"):
        op.drop_table(table)
