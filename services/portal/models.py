"""Tables of the portal (schema `portal`): the inbox and what it needs to know.

The portal keeps no business data: the notices (站内信) are its own records, made from the
platform's events; the mirrors (departments' names, open requests' due dates, grants' last
days, the holiday schedules) are kept from events only so the notices can name departments
and the periodic jobs can say what falls due. Mail addresses and the mail queue are the
portal's own records too.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Notice(Base):
    """One notice to a department (and, when `role` is set, to its holders of that role);
    `department` empty: to every holder of `role` on the node (the arbiters)."""

    __tablename__ = "notice"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # What makes it once: the event and its addressee, or the job's finding and its day.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(18))
    role: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500), comment="The portal page to act on.")
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), comment="When what it tells of happened (the event's time).")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (Index("ix_notice_department_occurred", "department", "occurred_at"),)


class NoticeRead(Base):
    """A person has read a notice (read and unread are each person's own)."""

    __tablename__ = "notice_read"

    notice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notice.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_notice_read_username", "username"),)


class DepartmentName(Base):
    """A department's name, from identity events, so a notice names it."""

    __tablename__ = "department_name"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class EntryName(Base):
    """A catalog entry's name, from catalog events, so a notice names the entry."""

    __tablename__ = "entry_name"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)


class RequestDeadline(Base):
    """An answer a provider owes and by when: the due-soon job reads it (A4)."""

    __tablename__ = "request_deadline"

    request_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(18))
    consumer: Mapped[str] = mapped_column(String(18))
    entry_name: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_request_deadline_due", "due_on",
                            postgresql_where=text("status = 'submitted'")),)


class GrantTerm(Base):
    """A grant's last day and standing: the expiring-soon job reads it."""

    __tablename__ = "grant_term"

    grant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    consumer: Mapped[str] = mapped_column(String(18))
    provider: Mapped[str] = mapped_column(String(18))
    entry_code: Mapped[str] = mapped_column(String(60))
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_grant_term_until", "valid_until",
                            postgresql_where=text("status = 'active'")),)


class HolidaySchedule(Base):
    """A year's holiday schedule as the competent authority loaded it (working days)."""

    __tablename__ = "holiday_schedule"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    holidays: Mapped[list[date]] = mapped_column(ARRAY(Date))
    adjusted_workdays: Mapped[list[date]] = mapped_column(ARRAY(Date))


class MailAddress(Base):
    """Where a department's notices are mailed: one address per department, set by the
    node admin (accounts carry no address of their own)."""

    __tablename__ = "mail_address"

    department: Mapped[str] = mapped_column(String(18), primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NoticeMail(Base):
    """A notice to mail: written with the notice, marked sent once the mail server took it."""

    __tablename__ = "notice_mail"

    notice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notice.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    given_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    __table_args__ = (Index("ix_notice_mail_due", "next_attempt_at",
                            postgresql_where=text("sent_at is null and given_up_at is null")),)
