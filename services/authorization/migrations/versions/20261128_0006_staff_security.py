"""separation of administrators' duties, the security audit trail, lock-out, client secrets
that rotate and expire (A7)

Revision ID: 20261128_0006
Revises: 20261128_0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import INET, JSONB

revision = "20261128_0006"
down_revision = "20261128_0005"
branch_labels = None
depends_on = None

# Secrets issued before secrets expired get the default lifetime from this upgrade on.
EXISTING_SECRETS_VALID_FOR = "365 days"


def upgrade() -> None:
    _client_secrets_and_networks()
    op.create_table(
        "security_event",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False, index=True),
        sa.Column("actor_kind", sa.String(12), nullable=False),
        sa.Column("target", sa.String(200), index=True),
        sa.Column("source", INET),
        sa.Column("reason", sa.String(64)),
        sa.Column("detail", JSONB, nullable=False),
        sa.Column("request_id", sa.Text),
    )
    # Append-only, whoever connects: the service's own role included (等保 审计记录保护).
    op.execute("""
        create function security_event_append_only() returns trigger language plpgsql as $$
        begin
            raise exception 'the security trail is append-only: % refused', tg_op;
        end $$
    """)
    op.execute("""
        create trigger security_event_append_only
        before update or delete on security_event
        for each row execute function security_event_append_only()
    """)
    op.execute("""
        create trigger security_event_no_truncate
        before truncate on security_event
        for each statement execute function security_event_append_only()
    """)
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
    )


def _client_secrets_and_networks() -> None:
    op.add_column("client", sa.Column("secret_expires_at", sa.DateTime(timezone=True)))
    op.execute("update client set secret_expires_at = now() + interval "
               f"'{EXISTING_SECRETS_VALID_FOR}'")
    op.alter_column("client", "secret_expires_at", nullable=False)
    op.add_column("client", sa.Column("previous_secret_hash", sa.String(128)))
    op.add_column("client", sa.Column("previous_secret_expires_at",
                                      sa.DateTime(timezone=True)))
    op.add_column("client", sa.Column("allowed_networks", sa.ARRAY(sa.String(49)),
                                      nullable=False, server_default="{}"))


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_table("security_event")
    op.execute("drop function security_event_append_only()")
    for column in ("allowed_networks", "previous_secret_expires_at", "previous_secret_hash",
                   "secret_expires_at"):
        op.drop_column("client", column)
