"""The messaging tables every service has in its own schema (outbox, inbox, broker epoch).

They carry no schema: each service's connections put its schema first on `search_path`.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)

messaging_metadata = MetaData()

outbox_event = Table(
    "outbox_event",
    messaging_metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("id", Uuid, nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("envelope", Text, nullable=False, comment="The serialized EventEnvelope."),
    Column("trace_context", JSON, comment="W3C trace headers of the work that wrote it."),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Index("ix_outbox_event_unpublished", "seq", postgresql_where=text("published_at is null")),
    Index("ix_outbox_event_published_at", "published_at"),
)

processed_event = Table(
    "processed_event",
    messaging_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

broker_epoch = Table(
    "broker_epoch",
    messaging_metadata,
    Column("id", BigInteger, primary_key=True),
    Column("marker", Uuid, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def create_messaging_tables() -> None:
    """Migration step shared by every service's first revision."""
    bind = op.get_bind()
    messaging_metadata.create_all(bind)


def add_trace_context() -> None:
    """Migration step: outbox rows carry the trace of the work that wrote them. `IF NOT
    EXISTS`: a schema made fresh already has it, since every first revision creates the
    messaging tables as they are now."""
    op.execute("ALTER TABLE outbox_event ADD COLUMN IF NOT EXISTS trace_context json")


def drop_trace_context() -> None:
    op.execute("ALTER TABLE outbox_event DROP COLUMN IF EXISTS trace_context")


def drop_messaging_tables() -> None:
    """Downgrade counterpart of `create_messaging_tables`."""
    messaging_metadata.drop_all(op.get_bind())
