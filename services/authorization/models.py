"""Tables of the authorization service (schema `authorization`): identity, then sharing."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import clock
from shared.workdays import end_of_day


class Base(DeclarativeBase):
    # Columns the database fills on insert or update (updated_at) are read back in the same
    # statement: an answer serialised after the flush must not load them lazily.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Node(Timestamped, Base):
    """A deployment of govshare; exactly one row is the local node."""

    __tablename__ = "node"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(6))
    zone: Mapped[str] = mapped_column(String(10))
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)
    # For a linked node (F1, G2): whether it is our parent or a child, and how to reach it.
    relation: Mapped[str | None] = mapped_column(String(8))
    gateway_url: Mapped[str | None] = mapped_column(String(500))
    jwks_url: Mapped[str | None] = mapped_column(String(500))
    linked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NetworkNode(Base):
    """A node of the network beyond the linked ones (F5), as a neighbour told us of it:
    reached through that neighbour (`via`), a linked node."""

    __tablename__ = "network_node"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(6))
    zone: Mapped[str] = mapped_column(String(10))
    via: Mapped[str] = mapped_column(String(64), index=True)
    learned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class LinkInvitation(Base):
    """A one-time code the parent's operator gives a child's operator to link the nodes."""

    __tablename__ = "link_invitation"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    child_node_id: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SigningKeyRecord(Base):
    """A key the local node signs tokens with; the newest unretired one is active."""

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Department(Timestamped, Base):
    """A government department, identified by its unified social credit code."""

    __tablename__ = "department"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(6), index=True)


class Client(Timestamped, Base):
    """A department system's client credentials (the secret is stored hashed)."""

    __tablename__ = "client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(
        ForeignKey("department.credit_code"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(128))
    secret_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A rotation's replaced secret, valid until its overlap ends (A7).
    previous_secret_hash: Mapped[str | None] = mapped_column(String(128))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The networks (CIDR) it may get tokens from; none: anywhere.
    allowed_networks: Mapped[list[str]] = mapped_column(ARRAY(String(49)), default=list)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class User(Timestamped, Base):
    """A staff user; node admins of the competent authority may have no department."""

    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(
        ForeignKey("department.credit_code"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- Sharing (requirements §4) --------------------------------------------------------------------


class SharedResource(Base):
    """What the sharing workflow needs of a catalog entry, kept from catalog events."""

    __tablename__ = "shared_resource"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    provider_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    share_type: Mapped[str] = mapped_column(String(16))
    permitted_uses: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    item_share_types: Mapped[dict[str, str]] = mapped_column(JSONB)
    methods: Mapped[list[str]] = mapped_column(ARRAY(String(24)))
    sensitive: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now(), onupdate=func.now())


class HolidayScheduleMirror(Base):
    """The holiday schedules the competent authority loaded, kept from catalog events."""

    __tablename__ = "holiday_schedule"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    holidays: Mapped[list[date]] = mapped_column(ARRAY(Date))
    adjusted_workdays: Mapped[list[date]] = mapped_column(ARRAY(Date))


class ShareRequest(Base):
    """A department's request for another department's resource (A1–A4)."""

    __tablename__ = "share_request"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    node: Mapped[str] = mapped_column(String(64))
    consumer: Mapped[str] = mapped_column(String(18), index=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    entry_code: Mapped[str] = mapped_column(String(60), index=True)
    entry_name: Mapped[str] = mapped_column(String(200))
    share_type: Mapped[str] = mapped_column(String(16))
    legal_basis: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(32))
    items: Mapped[list[str]] = mapped_column(ARRAY(String(50)))
    methods: Mapped[list[str]] = mapped_column(ARRAY(String(24)))
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer)
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    calendar_basis: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    escalation: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    terms: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    grant_id: Mapped[uuid.UUID | None] = mapped_column()
    closed_reason: Mapped[str | None] = mapped_column(Text)
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RequestTransition(Base):
    """Every state change of a request: who, when, from what to what, and why."""

    __tablename__ = "request_transition"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("share_request.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                         server_default=func.now())


class RequestMessage(Base):
    """A message of the negotiation on a request (A3)."""

    __tablename__ = "request_message"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("share_request.id"), index=True)
    sender: Mapped[str] = mapped_column(String(18))
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                server_default=func.now())


class Grant(Base):
    """A consumer's right to an entry's data (A5): bound, expiring, revocable, renewable."""

    __tablename__ = "share_grant"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    node: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("share_request.id"), index=True)
    consumer: Mapped[str] = mapped_column(String(18), index=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    entry_code: Mapped[str] = mapped_column(String(60), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    methods: Mapped[list[str]] = mapped_column(ARRAY(String(24)))
    items: Mapped[list[str]] = mapped_column(ARRAY(String(50)))
    row_filter: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sensitive: Mapped[bool] = mapped_column(Boolean)
    # The last day of the confidentiality agreement that made it active (A6), if it needs one.
    covered_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    @property
    def agreement_ends_at(self) -> datetime | None:
        return end_of_day(self.covered_until) if self.covered_until else None


class ConfidentialityAgreement(Base):
    """A security and confidentiality agreement (保密协议, A6): one party proposes it, the
    other confirms it; only a confirmed one within its validity covers grants."""

    __tablename__ = "confidentiality_agreement"
    __table_args__ = (
        UniqueConstraint("consumer", "entry_code", "reference",
                         name="uq_agreement_consumer_entry_reference"),
        # One confirmed agreement per consumer and entry: a second confirmation supersedes.
        Index("uq_agreement_confirmed", "consumer", "entry_code", unique=True,
              postgresql_where=text("status IN ('in_force', 'lapsed')")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    consumer: Mapped[str] = mapped_column(String(18), index=True)
    provider: Mapped[str] = mapped_column(String(18))
    entry_code: Mapped[str] = mapped_column(String(60), index=True)
    reference: Mapped[str] = mapped_column(String(100))
    # Empty (as is valid_until) only on agreements one party filed before revision 0005.
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), index=True)
    version: Mapped[int] = mapped_column(Integer)
    proposer: Mapped[str | None] = mapped_column(String(18))
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                  server_default=func.now())
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    supersedes: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("confidentiality_agreement.id"))
    lapsed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ArbitrationSeat(Base):
    """A department that sits for one of this node's arbitration bodies (A3): the tier's
    competent authority or the coordinating body. Its arbiters decide the disputes routed
    there; the node admin designates it."""

    __tablename__ = "arbitration_seat"

    body: Mapped[str] = mapped_column(String(24), primary_key=True)
    department: Mapped[str] = mapped_column(ForeignKey("department.credit_code"),
                                            primary_key=True)
    designated_by: Mapped[str] = mapped_column(String(64))
    designated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                    server_default=func.now())
