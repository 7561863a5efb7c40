"""agreements both parties confirm, with a validity; disputes routed by the parties' tiers (A6, A3)

An agreement one party filed before this revision becomes a proposal: it names no document
hash, so it cannot be confirmed as it stands; the parties propose it again. The grants it
activated stay as they are.

Revision ID: 20261128_0005
Revises: 20261122_0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "20261128_0005"
down_revision = "20261122_0004"
branch_labels = None
depends_on = None

AGREEMENT = "confidentiality_agreement"


def upgrade() -> None:
    op.alter_column(AGREEMENT, "filed_by", new_column_name="proposed_by")
    op.alter_column(AGREEMENT, "filed_at", new_column_name="proposed_at")
    op.add_column(AGREEMENT, sa.Column("document_sha256", sa.String(64)))
    op.add_column(AGREEMENT, sa.Column("status", sa.String(12), nullable=False,
                                       server_default="proposed"))
    op.add_column(AGREEMENT, sa.Column("version", sa.Integer, nullable=False,
                                       server_default="1"))
    for column in ("status", "version"):  # the defaults only filled the rows already there
        op.alter_column(AGREEMENT, column, server_default=None)
    op.add_column(AGREEMENT, sa.Column("proposer", sa.String(18)))
    op.add_column(AGREEMENT, sa.Column("confirmed_by", sa.String(64)))
    op.add_column(AGREEMENT, sa.Column("confirmed_at", sa.DateTime(timezone=True)))
    op.add_column(AGREEMENT, sa.Column("supersedes", sa.Uuid,
                                       sa.ForeignKey(f"{AGREEMENT}.id")))
    op.add_column(AGREEMENT, sa.Column("lapsed_at", sa.DateTime(timezone=True)))
    op.create_index("ix_confidentiality_agreement_status", AGREEMENT, ["status"])
    op.create_index("uq_agreement_confirmed", AGREEMENT, ["consumer", "entry_code"],
                    unique=True, postgresql_where=sa.text("status IN ('in_force', 'lapsed')"))
    op.create_table(
        "arbitration_seat",
        sa.Column("body", sa.String(24), primary_key=True),
        sa.Column("department", sa.String(18), sa.ForeignKey("department.credit_code"),
                  primary_key=True),
        sa.Column("designated_by", sa.String(64), nullable=False),
        sa.Column("designated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )


def downgrade() -> None:
    op.drop_table("arbitration_seat")
    op.drop_index("uq_agreement_confirmed", AGREEMENT)
    op.drop_index("ix_confidentiality_agreement_status", AGREEMENT)
    for column in ("lapsed_at", "supersedes", "confirmed_at", "confirmed_by", "proposer",
                   "version", "status", "document_sha256"):
        op.drop_column(AGREEMENT, column)
    op.alter_column(AGREEMENT, "proposed_at", new_column_name="filed_at")
    op.alter_column(AGREEMENT, "proposed_by", new_column_name="filed_by")
