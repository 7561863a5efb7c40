"""C7: one item, one source (一数一源) [51 §5, BJ 三(一)].

The collection-responsibility register says which department collects each base item. An
entry whose items include one another department is responsible for is flagged as duplicate
collection [JS §25(六)]: it is recorded and announced, not refused, because the evaluation
decides what it costs the department.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.exceptions import UnknownProvider
from services.catalog.models import (
    CollectionResponsibility,
    Department,
    DuplicateCollectionFlag,
    Entry,
)
from shared.contracts.catalog import DuplicateCollectionFlagged, EntrySpec
from shared.outbox import Outbox

_NOT_NAME = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise_item_name(name: str) -> str:
    """Compare names as people read them: full-width folded, spaces and punctuation dropped."""
    return _NOT_NAME.sub("", unicodedata.normalize("NFKC", name)).lower()


async def register_responsibility(session: AsyncSession, *, item_code: str, item_name: str,
                                  department: str, actor: str) -> CollectionResponsibility:
    """Record (or move) the responsibility for collecting an item."""
    if await session.get(Department, department) is None:
        raise UnknownProvider(f"Department {department} is not registered on this node.",
                              field="department")
    values = {"item_code": item_code, "item_name": item_name, "department": department,
              "normalised_name": normalise_item_name(item_name), "registered_by": actor,
              "registered_at": datetime.now(UTC)}
    await session.execute(insert(CollectionResponsibility).values(**values)
                          .on_conflict_do_update(index_elements=["item_code"], set_=values))
    return await session.get(CollectionResponsibility, item_code, populate_existing=True)


async def flag_duplicate_collection(session: AsyncSession, outbox: Outbox, entry: Entry,
                                    spec: EntrySpec) -> list[DuplicateCollectionFlag]:
    """Replace the entry's flags with those its current items deserve; announce new ones."""
    previous = {flag.item_code for flag in await flags_of(session, entry)}
    await session.execute(delete(DuplicateCollectionFlag)
                          .where(DuplicateCollectionFlag.entry_id == entry.id))
    flags = []
    for item in spec.items:
        owner = await _responsible_for(session, item.code, item.name)
        if owner is None or owner.department == entry.provider:
            continue
        flag = DuplicateCollectionFlag(entry_id=entry.id, item_code=item.code,
                                       item_name=item.name, provider=entry.provider,
                                       responsible_department=owner.department)
        session.add(flag)
        flags.append(flag)
        if item.code not in previous:
            await outbox.add(session, entry.provider, DuplicateCollectionFlagged(
                entry_code=entry.code, provider=entry.provider, item_code=item.code,
                item_name=item.name, responsible_department=owner.department,
                identifies_subject=item.identifies_subject))
    await session.flush()
    return flags


async def flags_of(session: AsyncSession, entry: Entry) -> list[DuplicateCollectionFlag]:
    return (await flags_by_entry(session, [entry])).get(entry.id, [])


async def flags_by_entry(
    session: AsyncSession, entries: list[Entry]
) -> dict[object, list[DuplicateCollectionFlag]]:
    """The flags of several entries in one query (a page of results needs them all)."""
    rows = await session.scalars(select(DuplicateCollectionFlag)
                                 .where(DuplicateCollectionFlag.entry_id.in_(
                                     [entry.id for entry in entries]))
                                 .order_by(DuplicateCollectionFlag.item_code))
    grouped: dict[object, list[DuplicateCollectionFlag]] = {}
    for flag in rows:
        grouped.setdefault(flag.entry_id, []).append(flag)
    return grouped


async def _responsible_for(session: AsyncSession, item_code: str,
                           item_name: str) -> CollectionResponsibility | None:
    return await session.scalar(select(CollectionResponsibility).where(or_(
        CollectionResponsibility.item_code == item_code,
        CollectionResponsibility.normalised_name == normalise_item_name(item_name),
    )).limit(1))
