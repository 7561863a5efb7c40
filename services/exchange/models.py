"""Tables of the exchange service (schema `exchange`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Index,
    Integer,
    Sequence,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import clock


class Base(DeclarativeBase):
    pass


RECORD_SEQUENCE = Sequence("record_seq")


class Resource(Base):
    """A catalog entry as the exchange needs it, kept from catalog events."""

    __tablename__ = "resource"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    update_cycle: Mapped[str] = mapped_column(String(16))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    key_items: Mapped[list[str]] = mapped_column(ARRAY(String(50)))
    # What anyone may download without signing in (open data, W2); empty: not open.
    open_items: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list,
                                                  server_default="{}")
    last_loaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stale_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Records streamed in (or refused) since the freshness sweep last announced them: a
    # stream arrives record by record, and an event each would flood the evaluation.
    ingested_accepted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ingested_rejected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class GrantView(Base):
    """A grant as the authorization service last announced it (the decision's only input)."""

    __tablename__ = "grant_view"
    __table_args__ = (Index("ix_grant_view_consumer_entry", "consumer", "entry_code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    consumer: Mapped[str] = mapped_column(String(18))
    entry_code: Mapped[str] = mapped_column(String(60), index=True)
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)


class StoredRecord(Base):
    """One record of the front-end store (前置机): the latest value per entry and key."""

    __tablename__ = "record"
    __table_args__ = (Index("ix_record_entry_seq", "entry_code", "seq"),)

    entry_code: Mapped[str] = mapped_column(String(60), primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    data: Mapped[dict[str, str]] = mapped_column(JSONB)
    # Every write takes the next number, so "changes since cursor N" is `seq > N`.
    seq: Mapped[int] = mapped_column(BigInteger, RECORD_SEQUENCE,
                                     server_default=RECORD_SEQUENCE.next_value())
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class Load(Base):
    """One bulk upload: how much it took and why rows were refused. Each committed batch adds
    its rows, its refusals and its last line in its own transaction, so the figures are what
    is stored even when the load is cut short; a load resumed goes on in the same record."""

    __tablename__ = "record_load"
    __table_args__ = (Index("ix_record_load_running", "id",
                            postgresql_where=text("status = 'running'")),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entry_code: Mapped[str] = mapped_column(String(60), index=True)
    provider: Mapped[str] = mapped_column(String(18))
    media_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejections: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    loaded_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Every line up to this one is stored or refused (0: none yet); a resume starts after it.
    last_line: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SourceApi(Base):
    """A provider's own API the exchange calls on a consumer's behalf (系统对接)."""

    __tablename__ = "source_api"

    entry_code: Mapped[str] = mapped_column(String(60), primary_key=True)
    url_template: Mapped[str] = mapped_column(Text)
    credential_header: Mapped[str | None] = mapped_column(String(64))
    credential: Mapped[str | None] = mapped_column(Text)  # sealed (shared/sealing.py)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                    default=clock.now, server_default=func.now())


class AuditEntry(Base):
    """One access, append-only; the sealer gives it a chain position and hash (E5)."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(12))
    consumer: Mapped[str] = mapped_column(String(18), index=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    entry_code: Mapped[str] = mapped_column(String(60), index=True)
    grant_id: Mapped[uuid.UUID | None] = mapped_column()
    purpose: Mapped[str | None] = mapped_column(String(32))
    items: Mapped[list[str]] = mapped_column(ARRAY(String(50)))
    record_count: Mapped[int] = mapped_column(Integer)
    denied: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                         index=True)
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    # Whose record an online query looked up: a keyed hash of the key (`subject_keys`).
    subject_key: Mapped[str | None] = mapped_column(String(64))
    # A department's call from another node: the nodes it came through, origin first (F5).
    route: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)))

    __table_args__ = (Index("ix_audit_entry_subject_key", "subject_key",
                            postgresql_where=text("subject_key IS NOT NULL")),)


class AuditCheckpoint(Base):
    """The chain's head after each sealed batch: a truncated chain falls short of it."""

    __tablename__ = "audit_checkpoint"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                server_default=func.now())
    # Where the head is anchored outside this database (`audit_anchor`): the parent node's
    # id, with its countersignature, or "archive" (the node's own append-only file).
    anchored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    anchored_by: Mapped[str | None] = mapped_column(String(64))
    countersignature: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_audit_checkpoint_unanchored", "position",
                            postgresql_where=text("anchored_at IS NULL")),)


class AnchoredHead(Base):
    """A child node's audit head, kept and countersigned here, its parent (E5)."""

    __tablename__ = "anchored_head"

    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    countersignature: Mapped[str] = mapped_column(Text)


class AnchorConflict(Base):
    """A child offered another hash for a position already anchored here: its chain was
    rewritten (or restored from an older backup). Refused, and kept for the auditors."""

    __tablename__ = "anchor_conflict"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    node: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(BigInteger)
    held_hash: Mapped[str] = mapped_column(String(64))
    offered_hash: Mapped[str] = mapped_column(String(64))
    offered_sealed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("uq_anchor_conflict_offer", "node", "position", "offered_hash",
                            unique=True),)


class Subscription(Base):
    """A consumer's standing order for an entry's changes, on Kafka or a webhook (E4)."""

    __tablename__ = "subscription"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    consumer: Mapped[str] = mapped_column(String(18), index=True)
    entry_code: Mapped[str] = mapped_column(String(60), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    items: Mapped[list[str]] = mapped_column(ARRAY(String(50)))
    delivery: Mapped[str] = mapped_column(String(10))
    topic: Mapped[str | None] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    node: Mapped[str | None] = mapped_column(String(64))  # a consumer on another node (F2)
    secret: Mapped[str] = mapped_column(String(64))
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12))
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Delivery pacing (retries, backoff) keeps real time, as the receivers do.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                      server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 server_default=func.now())


class Objection(Base):
    """A consumer's doubt about a record, and the provider's verification (E6)."""

    __tablename__ = "objection"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entry_code: Mapped[str] = mapped_column(String(60), index=True)
    record_key: Mapped[list[str]] = mapped_column(ARRAY(Text))
    consumer: Mapped[str] = mapped_column(String(18), index=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), index=True)
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    verifying_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(Text)
    correction: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer)


class UsefulnessReport(Base):
    """A consumer's word on how useful an entry's data was (反馈) [BJ 三(四)]."""

    __tablename__ = "usefulness_report"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entry_code: Mapped[str] = mapped_column(String(60), index=True)
    consumer: Mapped[str] = mapped_column(String(18), index=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                  server_default=func.now())


class CrossCheck(Base):
    """One comparison of an item held by two sources (多元校核, E7)."""

    __tablename__ = "cross_check"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    left_entry: Mapped[str] = mapped_column(String(60))
    left_item: Mapped[str] = mapped_column(String(50))
    right_entry: Mapped[str] = mapped_column(String(60))
    right_item: Mapped[str] = mapped_column(String(50))
    compared: Mapped[int] = mapped_column(Integer)
    mismatched: Mapped[int] = mapped_column(Integer)
    samples: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    run_by: Mapped[str] = mapped_column(String(64))
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                             server_default=func.now())
