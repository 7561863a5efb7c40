"""Tables of the evaluation service (schema `evaluation`).

Two kinds: facts, kept from other services' events and rebuilt by replaying them (everything
but the last two classes), and the service's own records, which no replay touches: the
information-system registry (备案) and the scoring method's versions.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class NodeProfile(Base):
    """The node this service runs on: its tier chooses the default scoring method."""

    __tablename__ = "node_profile"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(12))
    region_code: Mapped[str] = mapped_column(String(6))


class Department(Base):
    __tablename__ = "department"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(12))
    region_code: Mapped[str] = mapped_column(String(6))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CatalogEntry(Base):
    __tablename__ = "catalog_entry"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    update_cycle: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Share attributes (C1, C5): whether the entry owes data on the platform. Empty for an
    # entry stored before they were kept, until its next event or a rebuild.
    share_type: Mapped[str | None] = mapped_column(String(16))
    share_channel: Mapped[str | None] = mapped_column(String(12))
    share_methods: Mapped[list[str] | None] = mapped_column(ARRAY(String(24)))


class EntrySupply(Base):
    """E1: when an entry's data first and last reached the front-end store, and when its
    provider registered its own API to serve it."""

    __tablename__ = "entry_supply"

    entry_code: Mapped[str] = mapped_column(String(60), primary_key=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    first_loaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_loaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    api_registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CatalogTrigger(Base):
    """C6: a change that obliges a department to update its catalog by `due_on`."""

    __tablename__ = "catalog_trigger"

    trigger_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(String(18), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)


class RequestFact(Base):
    """A sharing request as the evaluation needs it: who owed an answer by when, and how it
    was answered (A2, A4)."""

    __tablename__ = "request_fact"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    consumer: Mapped[str] = mapped_column(String(18), index=True)
    entry_code: Mapped[str] = mapped_column(String(60))
    share_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_on: Mapped[date | None] = mapped_column(Date)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool | None] = mapped_column(Boolean)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaleFlag(Base):
    """E7: the exchange found an entry not updated within its declared cycle."""

    __tablename__ = "stale_flag"

    entry_code: Mapped[str] = mapped_column(String(60), primary_key=True)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    update_cycle: Mapped[str] = mapped_column(String(16))


class ObjectionFact(Base):
    """E6: an objection against a provider's data and when it was settled."""

    __tablename__ = "objection_fact"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    consumer: Mapped[str] = mapped_column(String(18))
    entry_code: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProjectFact(Base):
    """C8 [51 §21]: an information project files its resource catalog before approval and
    attaches its published entries at acceptance."""

    __tablename__ = "project_fact"

    project_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    planned_resources: Mapped[list[str]] = mapped_column(ARRAY(String(200)))
    accepted_codes: Mapped[list[str] | None] = mapped_column(ARRAY(String(60)))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DatabaseFact(Base):
    """C8 [BJ 三(二)]: a registered database and the entries it backs."""

    __tablename__ = "database_fact"

    database_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    resource_codes: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deregistered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CrossCheckFact(Base):
    """E7: two sources of an item compared for the subjects both hold (多元校核)."""

    __tablename__ = "crosscheck_fact"

    check_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    left_entry: Mapped[str] = mapped_column(String(60))
    left_item: Mapped[str] = mapped_column(String(50))
    left_provider: Mapped[str] = mapped_column(String(18), index=True)
    right_entry: Mapped[str] = mapped_column(String(60))
    right_item: Mapped[str] = mapped_column(String(50))
    right_provider: Mapped[str] = mapped_column(String(18), index=True)
    compared: Mapped[int] = mapped_column(Integer)
    mismatched: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DuplicateFlag(Base):
    """C7: a provider catalogued an item another department is responsible for collecting;
    the flag stands from `flagged_at` until a clearance of it (DuplicateClearance)."""

    __tablename__ = "duplicate_flag"

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    entry_code: Mapped[str] = mapped_column(String(60))
    item_code: Mapped[str] = mapped_column(String(50))
    responsible_department: Mapped[str] = mapped_column(String(18))
    identifies_subject: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DuplicateClearance(Base):
    """C7: a duplicate-collection flag stopped standing (entry withdrawn, item removed, the
    register changed); it ends the flags of the same entry, item and responsible department
    raised before it."""

    __tablename__ = "duplicate_clearance"
    __table_args__ = (Index("ix_duplicate_clearance_entry_item", "entry_code", "item_code"),)

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(18))
    entry_code: Mapped[str] = mapped_column(String(60))
    item_code: Mapped[str] = mapped_column(String(50))
    responsible_department: Mapped[str] = mapped_column(String(18))
    reason: Mapped[str] = mapped_column(String(24))
    cleared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsageFact(Base):
    """One line of a sealed audit batch's usage: accesses of one kind, one day, one actor."""

    __tablename__ = "usage_fact"

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    consumer: Mapped[str] = mapped_column(String(18), index=True)
    provider: Mapped[str] = mapped_column(String(18), index=True)
    entry_code: Mapped[str] = mapped_column(String(60), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    purpose: Mapped[str | None] = mapped_column(String(32))
    denied: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(64), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    accesses: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(Integer)


class SystemClient(Base):
    """A department system's client credentials, from identity events: a registered
    information system names the clients it calls the platform with."""

    __tablename__ = "system_client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


FACT_TABLES = [NodeProfile, Department, CatalogEntry, EntrySupply, CatalogTrigger, RequestFact,
               StaleFlag, ObjectionFact, CrossCheckFact, DuplicateFlag, DuplicateClearance,
               UsageFact,
               SystemClient, ProjectFact, DatabaseFact]
"""What a rebuild clears before the events are consumed again."""


class InformationSystem(Base):
    """V3: an information system filed (备案) with the competent authority [39 三(六)]."""

    __tablename__ = "information_system"
    __table_args__ = (UniqueConstraint("department", "name", name="uq_system_department_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(18), index=True)
    description: Mapped[str] = mapped_column(Text)
    funding_source: Mapped[str] = mapped_column(String(24))
    construction_funding: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    annual_om_funding: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    resource_codes: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    client_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    status: Mapped[str] = mapped_column(String(12))
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)


class HistoryGap(Base):
    """The broker's log was found newer than the model: what the model applied before may
    be missing from it, so a rebuild from it would lose facts (unless forced)."""

    __tablename__ = "history_gap"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())


class ScoringMethodVersion(Base):
    """The node's scoring method as the competent authority set it; the newest applies."""

    __tablename__ = "scoring_method"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    method: Mapped[dict[str, Any]] = mapped_column(JSONB)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RectificationAnnouncement(Base):
    """A rectification item announced (`RectificationListed`): each once, which no rebuild
    of the facts undoes."""

    __tablename__ = "rectification_announcement"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(18), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(40), primary_key=True)
    announced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())


class ReportSubmission(Base):
    """A child node's yearly report or quarter's figures, as it arrived here (F7): never
    changed (a corrected one arrives as another), no fact (no replay touches it)."""

    __tablename__ = "report_submission"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    child: Mapped[str] = mapped_column(String(64), index=True)
    child_tier: Mapped[str] = mapped_column(String(12))
    period: Mapped[str] = mapped_column(String(7), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
    file_format: Mapped[str | None] = mapped_column(String(4))
    file: Mapped[bytes | None] = mapped_column(LargeBinary)
    file_digest: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_on: Mapped[date | None] = mapped_column(Date)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
