"""the audit chain's sealed heads countersigned by the parent node; whose record was looked up
(E5, trust)

Revision ID: 20261128_0007
Revises: 20261128_0006
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "20261128_0007"
down_revision = "20261128_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_entry", sa.Column("subject_key", sa.String(64)))
    op.create_index("ix_audit_entry_subject_key", "audit_entry", ["subject_key"],
                    postgresql_where=sa.text("subject_key IS NOT NULL"))
    op.add_column("audit_checkpoint", sa.Column("anchored_at", sa.DateTime(timezone=True)))
    op.add_column("audit_checkpoint", sa.Column("anchored_by", sa.String(64)))
    op.add_column("audit_checkpoint", sa.Column("countersignature", sa.Text))
    # The heads still to anchor: the few the anchoring job looks at, among all ever sealed.
    op.create_index("ix_audit_checkpoint_unanchored", "audit_checkpoint", ["position"],
                    postgresql_where=sa.text("anchored_at IS NULL"))
    op.create_table(
        "anchored_head",
        sa.Column("node", sa.String(64), primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("countersignature", sa.Text, nullable=False),
    )
    op.create_table(
        "anchor_conflict",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("held_hash", sa.String(64), nullable=False),
        sa.Column("offered_hash", sa.String(64), nullable=False),
        sa.Column("offered_sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("uq_anchor_conflict_offer", "anchor_conflict",
                    ["node", "position", "offered_hash"], unique=True)


def downgrade() -> None:
    op.drop_table("anchor_conflict")
    op.drop_table("anchored_head")
    op.drop_index("ix_audit_checkpoint_unanchored", table_name="audit_checkpoint")
    op.drop_column("audit_checkpoint", "countersignature")
    op.drop_column("audit_checkpoint", "anchored_by")
    op.drop_column("audit_checkpoint", "anchored_at")
    op.drop_index("ix_audit_entry_subject_key", table_name="audit_entry")
    op.drop_column("audit_entry", "subject_key")
