"""sharing: catalog read model, holiday schedules, requests, messages, grants, agreements

Revision ID: 20261122_0002
Revises: 20261122_0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "20261122_0002"
down_revision = "20261122_0001"
branch_labels = None
depends_on = None


def _now() -> sa.Column:
    return sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "shared_resource",
        sa.Column("code", sa.String(60), primary_key=True),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("provider_name", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("share_type", sa.String(16), nullable=False),
        sa.Column("permitted_uses", sa.ARRAY(sa.String(32)), nullable=False),
        sa.Column("item_share_types", JSONB, nullable=False),
        sa.Column("methods", sa.ARRAY(sa.String(24)), nullable=False),
        sa.Column("sensitive", sa.Boolean, nullable=False),
        _now(),
    )
    op.create_table(
        "holiday_schedule",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("holidays", sa.ARRAY(sa.Date), nullable=False),
        sa.Column("adjusted_workdays", sa.ARRAY(sa.Date), nullable=False),
    )
    op.create_table(
        "share_request",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("consumer", sa.String(18), nullable=False, index=True),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("entry_code", sa.String(60), nullable=False, index=True),
        sa.Column("entry_name", sa.String(200), nullable=False),
        sa.Column("share_type", sa.String(16), nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("items", sa.ARRAY(sa.String(50)), nullable=False),
        sa.Column("methods", sa.ARRAY(sa.String(24)), nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date, index=True),
        sa.Column("calendar_basis", sa.ARRAY(sa.String(20)), nullable=False),
        sa.Column("answer", JSONB),
        sa.Column("escalation", JSONB),
        sa.Column("decision", JSONB),
        sa.Column("terms", JSONB),
        sa.Column("grant_id", sa.Uuid),
        sa.Column("closed_reason", sa.Text),
        sa.Column("overdue_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "request_transition",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Uuid, sa.ForeignKey("share_request.id"), nullable=False,
                  index=True),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )
    op.create_table(
        "request_message",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Uuid, sa.ForeignKey("share_request.id"), nullable=False,
                  index=True),
        sa.Column("sender", sa.String(18), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )
    op.create_table(
        "share_grant",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("request_id", sa.Uuid, sa.ForeignKey("share_request.id"), nullable=False,
                  index=True),
        sa.Column("consumer", sa.String(18), nullable=False, index=True),
        sa.Column("provider", sa.String(18), nullable=False, index=True),
        sa.Column("entry_code", sa.String(60), nullable=False, index=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("methods", sa.ARRAY(sa.String(24)), nullable=False),
        sa.Column("items", sa.ARRAY(sa.String(50)), nullable=False),
        sa.Column("row_filter", JSONB, nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("sensitive", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("status_reason", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "confidentiality_agreement",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("consumer", sa.String(18), nullable=False, index=True),
        sa.Column("provider", sa.String(18), nullable=False),
        sa.Column("entry_code", sa.String(60), nullable=False, index=True),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("signed_on", sa.Date, nullable=False),
        sa.Column("valid_until", sa.Date),
        sa.Column("filed_by", sa.String(64), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.UniqueConstraint("consumer", "entry_code", "reference",
                            name="uq_agreement_consumer_entry_reference"),
    )


def downgrade() -> None:
    for table in ("confidentiality_agreement", "share_grant", "request_message",
                  "request_transition", "share_request", "holiday_schedule",
                  "shared_resource"):
        op.drop_table(table)
