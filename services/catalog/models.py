"""Tables of the catalog service (schema `catalog`)."""

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
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

from shared import clock


class Base(DeclarativeBase):
    # Columns the database fills on insert or update (updated_at) are read back in the same
    # statement: an answer serialised after the flush must not load them lazily.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012


class Department(Base):
    """Read model of identity's departments, kept from identity events."""

    __tablename__ = "department"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(6))


class CodeSequence(Base):
    """Last back-segment number handed out per front segment; numbers are never reused."""

    __tablename__ = "code_sequence"

    front_segment: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class Entry(Base):
    """The current state of a catalog entry."""

    __tablename__ = "entry"
    __table_args__ = (UniqueConstraint("provider", "name", name="uq_entry_provider_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    provider: Mapped[str] = mapped_column(ForeignKey("department.credit_code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), index=True)
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 server_default=func.now(), onupdate=clock.now)
    # Search columns (C9), derived from `spec` on every write.
    top_class: Mapped[str | None] = mapped_column(String(12))
    share_type: Mapped[str | None] = mapped_column(String(16))
    share_methods: Mapped[list[str] | None] = mapped_column(ARRAY(String(24)))
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, deferred=True)


class EntryVersion(Base):
    """Every change of an entry, with who, when and why (C6)."""

    __tablename__ = "entry_version"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entry.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    changed_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    # Business time: a trigger is answered by a version changed since its day (C6).
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 server_default=func.now())


class HolidayScheduleRecord(Base):
    """A year's State Council holiday schedule, loaded by the competent authority."""

    __tablename__ = "holiday_schedule"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    holidays: Mapped[list[date]] = mapped_column(ARRAY(Date))
    adjusted_workdays: Mapped[list[date]] = mapped_column(ARRAY(Date))
    loaded_by: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChangeTrigger(Base):
    """C6: a change that obliges a department to update its catalog by `due_on`."""

    __tablename__ = "change_trigger"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    department: Mapped[str] = mapped_column(ForeignKey("department.credit_code"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    occurred_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    calendar_basis: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                  server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(Text)
    answered_by_entry: Mapped[str | None] = mapped_column(String(60))
    answered_by_version: Mapped[int | None] = mapped_column(Integer)


class CollectionResponsibility(Base):
    """C7: the department that collects an item (一数一源)."""

    __tablename__ = "collection_responsibility"

    item_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    item_name: Mapped[str] = mapped_column(String(500))
    normalised_name: Mapped[str] = mapped_column(String(500), index=True)
    department: Mapped[str] = mapped_column(ForeignKey("department.credit_code"))
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DuplicateCollectionFlag(Base):
    """C7: an entry collects an item another department is responsible for."""

    __tablename__ = "duplicate_collection_flag"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entry.id"), primary_key=True)
    item_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    item_name: Mapped[str] = mapped_column(String(500))
    provider: Mapped[str] = mapped_column(String(18), index=True)
    responsible_department: Mapped[str] = mapped_column(String(18))
    flagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 server_default=func.now())
    # Read with the flag, so a list of flags links each to its entry.
    entry_code: Mapped[str] = column_property(
        select(Entry.code).where(Entry.id == entry_id).correlate_except(Entry)
        .scalar_subquery())


class DuplicateCollectionClearance(Base):
    """C7: a flag of a published entry that stopped standing, kept so its department sees
    what it was and why it went (the flag's own row goes with it)."""

    __tablename__ = "duplicate_collection_clearance"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entry_code: Mapped[str] = mapped_column(String(60))
    item_code: Mapped[str] = mapped_column(String(50))
    item_name: Mapped[str] = mapped_column(String(500))
    provider: Mapped[str] = mapped_column(String(18), index=True)
    responsible_department: Mapped[str] = mapped_column(String(18))
    flagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                 server_default=func.now())
    cleared_because: Mapped[str] = mapped_column(String(24))


class BaseSubjectLead(Base):
    """JS §11(二): the department that leads a base resource, appointed by the competent
    authority; it keeps that resource's base items."""

    __tablename__ = "base_subject_lead"

    subject: Mapped[str] = mapped_column(String(2), primary_key=True)
    department: Mapped[str] = mapped_column(ForeignKey("department.credit_code"))
    appointed_by: Mapped[str] = mapped_column(String(64))
    appointed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class BaseItem(Base):
    """C3 [JS §11(二)]: an item registered as a base item of a base resource; a removed one
    is kept with who removed it, when and why."""

    __tablename__ = "base_item"
    # One standing registration per code and per name of a base resource.
    __table_args__ = (
        Index("uq_base_item_code", "subject", "item_code", unique=True,
              postgresql_where=text("removed_at IS NULL")),
        Index("uq_base_item_name", "subject", "normalised_name", unique=True,
              postgresql_where=text("removed_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject: Mapped[str] = mapped_column(String(2))
    item_code: Mapped[str] = mapped_column(String(50))
    item_name: Mapped[str] = mapped_column(String(500))
    normalised_name: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(Text)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now,
                                                    server_default=func.now())
    removed_by: Mapped[str | None] = mapped_column(String(64))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removal_reason: Mapped[str | None] = mapped_column(Text)


class RegisteredDatabase(Base):
    """C8 [BJ 三(二)]: a database behind catalogued resources, registered by its department."""

    __tablename__ = "registered_database"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    department: Mapped[str] = mapped_column(ForeignKey("department.credit_code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    dbms: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    resource_codes: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    status: Mapped[str] = mapped_column(String(14))
    reason: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                    server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now(), onupdate=func.now())


class InformationProject(Base):
    """C8 [51 §21]: a project files its resource catalog before approval, attaches it at
    acceptance."""

    __tablename__ = "information_project"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    department: Mapped[str] = mapped_column(ForeignKey("department.credit_code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    planned_resources: Mapped[list[str]] = mapped_column(ARRAY(String(200)))
    accepted_codes: Mapped[list[str] | None] = mapped_column(ARRAY(String(60)))
    status: Mapped[str] = mapped_column(String(10))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                               server_default=func.now())
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LinkedNode(Base):
    """A node this one is linked with (parent or child), kept from identity events."""

    __tablename__ = "linked_node"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    relation: Mapped[str] = mapped_column(String(8))
    tier: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(6))
    zone: Mapped[str] = mapped_column(String(10))
    gateway_url: Mapped[str] = mapped_column(String(500))
    jwks_url: Mapped[str] = mapped_column(String(500))


class FeedItem(Base):
    """An entry change to pass up to the parent (F1): this node's own, or one it received
    from a child; written in the transaction of the change, pushed from a cursor."""

    __tablename__ = "federation_feed"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    origin_node: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    classified: Mapped[bool] = mapped_column(Boolean)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)


class FederationCursor(Base):
    """How far the feed was pushed to a linked node: the resume point after any outage."""

    __tablename__ = "federation_cursor"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class FederatedEntry(Base):
    """An entry catalogued on another node, aggregated here with its provenance (F1)."""

    __tablename__ = "federated_entry"

    origin_node: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    origin_tier: Mapped[str] = mapped_column(String(20))
    origin_region: Mapped[str] = mapped_column(String(6))
    path: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    provider: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_from: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    top_class: Mapped[str | None] = mapped_column(String(12))
    share_type: Mapped[str | None] = mapped_column(String(16))
    share_methods: Mapped[list[str] | None] = mapped_column(ARRAY(String(24)))
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, deferred=True)


class SearchDocument(Base):
    """What search reads of a published entry, local or aggregated: its words, its facets
    and what orders equal matches, in one narrow row. Triggers keep it from `entry`,
    `federated_entry`, `department` and `entry_activity` (migration 0012); the service only
    reads it."""

    __tablename__ = "search_document"

    key: Mapped[str] = mapped_column(Text, primary_key=True)  # id, or "origin_node code"
    aggregated: Mapped[bool] = mapped_column(Boolean)
    code: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(18))
    tier: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(6))
    top_class: Mapped[str | None] = mapped_column(String(12))
    share_type: Mapped[str | None] = mapped_column(String(16))
    share_methods: Mapped[list[str] | None] = mapped_column(ARRAY(String(24)))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    has_data: Mapped[bool] = mapped_column(Boolean)
    uses: Mapped[int] = mapped_column(BigInteger)
    last_loaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search_vector: Mapped[Any] = mapped_column(TSVECTOR)


class FederationReceipt(Base):
    """Every batch a linked node sent, as it arrived: what actually crossed (F3)."""

    __tablename__ = "federation_receipt"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    from_node: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)


class FederationConflict(Base):
    """Two different contents for one entry version: the kept and the discarded (F4)."""

    __tablename__ = "federation_conflict"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    origin_node: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    kept_hash: Mapped[str] = mapped_column(String(64))
    discarded_hash: Mapped[str] = mapped_column(String(64))
    discarded: Mapped[dict[str, Any]] = mapped_column(JSONB)
    from_node: Mapped[str] = mapped_column(String(64))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())


class ThesaurusVersion(Base):
    """A version of the search thesaurus (C9): its groups whole, who put it in force, when
    and why; the latest is in force, the earlier ones are its history."""

    __tablename__ = "thesaurus_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    groups: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)


class EntryActivity(Base):
    """What the exchange says of a local entry's data, kept from its events: since when the
    platform has held data for it, its latest load and how often it was used. Search ranks
    equally relevant entries by it (C9)."""

    __tablename__ = "entry_activity"

    entry_code: Mapped[str] = mapped_column(String(60), primary_key=True)
    data_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_loaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    uses: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
