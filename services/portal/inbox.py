"""The notice store: posting a notice once, and each person's view of the notices.

Who sees a notice is decided here, from the verified claims of the person's token: a notice
to a department is for its people (holding the notice's role, when it names one); a notice
to no department is for every holder of its role on the node. Read or unread is each
person's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, String, and_, false, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.portal.models import (
    DepartmentName,
    EntryName,
    MailAddress,
    Notice,
    NoticeMail,
    NoticeRead,
)
from services.portal.notices import Draft, Names
from shared.pagination import PageParams
from shared.tokens import TokenClaims


@dataclass(frozen=True)
class Reader:
    """A person reading their inbox, as their verified token says."""

    username: str
    department: str | None
    roles: frozenset[str]

    @classmethod
    def of(cls, claims: TokenClaims) -> Reader:
        return cls(claims.sub, claims.department, frozenset(claims.roles))


@dataclass(frozen=True)
class Listed:
    """A notice as its reader sees it: its title and text with the names known now."""

    notice: Notice
    title: str
    body: str
    read_at: datetime | None


async def post(session: AsyncSession, draft: Draft, *, key: str,
               occurred_at: datetime) -> uuid.UUID | None:
    """Store the notice unless one under `key` exists (None then), and queue it for mail
    in the same transaction when its department has a notification address."""
    notice_id = await session.scalar(insert(Notice).values(
        id=uuid.uuid4(), key=key, kind=draft.kind, department=draft.department,
        role=draft.role, title=draft.title[:200], body=draft.body, link=draft.link,
        occurred_at=occurred_at,
    ).on_conflict_do_nothing(index_elements=[Notice.key]).returning(Notice.id))
    if notice_id is None or draft.department is None:
        return notice_id
    address = await session.scalar(select(MailAddress.address).where(
        MailAddress.department == draft.department))
    if address:
        await session.execute(insert(NoticeMail).values(
            notice_id=notice_id, address=address, attempts=0,
            # The database's clock, as the mailer's: retries are timed in real time.
            next_attempt_at=func.now()))
    return notice_id


def visible_to(reader: Reader) -> ColumnElement[bool]:
    """The notices `reader` may see."""
    roles = sorted(reader.roles)
    role_fits = or_(Notice.role.is_(None), Notice.role.in_(roles))
    own = (and_(Notice.department == reader.department, role_fits) if reader.department
           else false())
    return or_(own, and_(Notice.department.is_(None), Notice.role.in_(roles)))


def _unread(reader: Reader) -> ColumnElement[bool]:
    return ~select(NoticeRead.notice_id).where(
        NoticeRead.notice_id == Notice.id, NoticeRead.username == reader.username).exists()


async def unread_count(session: AsyncSession, reader: Reader) -> int:
    return int(await session.scalar(select(func.count()).select_from(Notice).where(
        visible_to(reader), _unread(reader))) or 0)


async def list_notices(session: AsyncSession, reader: Reader, page: PageParams, *,
                       unread_only: bool = False) -> tuple[list[Listed], int]:
    """One page of the reader's notices, newest first, and how many there are."""
    query: Select[tuple[Notice, datetime | None]] = (
        select(Notice, NoticeRead.read_at)
        .outerjoin(NoticeRead, and_(NoticeRead.notice_id == Notice.id,
                                    NoticeRead.username == reader.username))
        .where(visible_to(reader)))
    if unread_only:
        query = query.where(NoticeRead.notice_id.is_(None))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = (await session.execute(query.order_by(Notice.occurred_at.desc(), Notice.id)
                                  .limit(page.limit).offset(page.offset))).all()
    names = await names_for(session, [text for notice, _ in rows
                                      for text in (notice.title, notice.body)])
    return [Listed(notice, names.fill(notice.title), names.fill(notice.body), read_at)
            for notice, read_at in rows], int(total or 0)


async def names_for(session: AsyncSession, texts: Iterable[str]) -> Names:
    """The names of the departments and entries `texts` mark, as the portal knows them."""
    departments, entries = Names.wanted(texts)
    known = await session.execute(select(DepartmentName.credit_code, DepartmentName.name)
                                  .where(DepartmentName.credit_code.in_(sorted(departments))))
    named = await session.execute(select(EntryName.code, EntryName.name)
                                  .where(EntryName.code.in_(sorted(entries))))
    return Names(dict(known.tuples().all()), dict(named.tuples().all()))


async def get_visible(session: AsyncSession, reader: Reader,
                      notice_id: uuid.UUID) -> Notice | None:
    """The notice if `reader` may see it; None for one they may not (as for none at all)."""
    return await session.scalar(select(Notice).where(Notice.id == notice_id,
                                                     visible_to(reader)))


async def mark_read(session: AsyncSession, reader: Reader, notice: Notice) -> None:
    await session.execute(insert(NoticeRead).values(
        notice_id=notice.id, username=reader.username).on_conflict_do_nothing())


async def mark_all_read(session: AsyncSession, reader: Reader) -> int:
    """Mark every notice the reader sees now as read; returns how many were unread."""
    unread = select(Notice.id, literal(reader.username, String)).where(
        visible_to(reader), _unread(reader))
    result = await session.execute(insert(NoticeRead).from_select(
        ["notice_id", "username"], unread).on_conflict_do_nothing())
    return int(result.rowcount or 0)
