"""outbox rows carry the trace of the work that wrote them (observability)

Revision ID: 20261122_0004
Revises: 20261122_0003
Create Date: 2026-11-22
"""

from shared.messaging_tables import add_trace_context, drop_trace_context

revision = "20261122_0004"
down_revision = "20261122_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_trace_context()


def downgrade() -> None:
    drop_trace_context()
