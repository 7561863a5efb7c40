"""portal: the inbox (notices, who read them), the names and dates they need, mail
addresses and the mail queue; messaging tables

Revision ID: 20261128_0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from shared.messaging_tables import create_messaging_tables, drop_messaging_tables

revision = "20261128_0001"
down_revision = None
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True, **kwargs: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kwargs)


def _now(name: str) -> sa.Column:
    return _at(name, nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "notice",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("department", sa.String(18)),
        sa.Column("role", sa.String(32)),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("link", sa.String(500), nullable=False, comment="The portal page to act on."),
        _at("occurred_at", nullable=False,
            comment="When what it tells of happened (the event's time)."),
        _now("created_at"),
    )
    op.create_index("ix_notice_department_occurred", "notice", ["department", "occurred_at"])
    op.create_table(
        "notice_read",
        sa.Column("notice_id", sa.Uuid, sa.ForeignKey("notice.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("username", sa.String(64), primary_key=True),
        _now("read_at"),
    )
    op.create_index("ix_notice_read_username", "notice_read", ["username"])
    op.create_table(
        "department_name",
        sa.Column("credit_code", sa.String(18), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "entry_name",
        sa.Column("code", sa.String(60), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "request_deadline",
        sa.Column("request_id", sa.Uuid, primary_key=True),
        sa.Column("provider", sa.String(18), nullable=False),
        sa.Column("consumer", sa.String(18), nullable=False),
        sa.Column("entry_name", sa.String(200), nullable=False),
        sa.Column("due_on", sa.Date),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_request_deadline_due", "request_deadline", ["due_on"],
                    postgresql_where=sa.text("status = 'submitted'"))
    op.create_table(
        "grant_term",
        sa.Column("grant_id", sa.Uuid, primary_key=True),
        sa.Column("consumer", sa.String(18), nullable=False),
        sa.Column("provider", sa.String(18), nullable=False),
        sa.Column("entry_code", sa.String(60), nullable=False),
        sa.Column("valid_until", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_grant_term_until", "grant_term", ["valid_until"],
                    postgresql_where=sa.text("status = 'active'"))
    op.create_table(
        "holiday_schedule",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("holidays", sa.ARRAY(sa.Date), nullable=False),
        sa.Column("adjusted_workdays", sa.ARRAY(sa.Date), nullable=False),
    )
    op.create_table(
        "mail_address",
        sa.Column("department", sa.String(18), primary_key=True),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        _now("set_at"),
    )
    op.create_table(
        "notice_mail",
        sa.Column("notice_id", sa.Uuid, sa.ForeignKey("notice.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _at("next_attempt_at", nullable=False),
        sa.Column("last_error", sa.Text),
        _at("sent_at"),
        _at("given_up_at"),
        _now("created_at"),
    )
    op.create_index("ix_notice_mail_due", "notice_mail", ["next_attempt_at"],
                    postgresql_where=sa.text("sent_at is null and given_up_at is null"))


def downgrade() -> None:
    for table in ("notice_mail", "mail_address", "holiday_schedule", "grant_term",
                  "request_deadline", "entry_name", "department_name", "notice_read",
                  "notice"):
        op.drop_table(table)
    drop_messaging_tables()
