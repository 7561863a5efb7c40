"""C7: one item, one source (一数一源) [51 §5, BJ 三(一)].

The collection-responsibility register says which department collects each base item. An
entry whose items include one another department is responsible for is flagged as duplicate
collection [JS §25(六)]: it is recorded and announced, not refused, because the evaluation
decides what it costs the department.

A draft collects nothing yet, so its flags are only shown to its editors. A published
entry's flags are announced when it is published and whenever they change afterwards, and
each flag it stops deserving is announced as cleared: the entry withdrawn, the item removed
from it, or the register no longer naming that department for the item. The evaluation
counts the flags standing in a period, so it needs both ends of each; the catalog keeps
each cleared flag too, for the department to see what it was and why it went.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.exceptions import UnknownProvider
from services.catalog.models import (
    CollectionResponsibility,
    Department,
    DuplicateCollectionClearance,
    DuplicateCollectionFlag,
    Entry,
)
from shared import clock
from shared.contracts.catalog import (
    ClearedBecause,
    DuplicateCollectionCleared,
    DuplicateCollectionFlagged,
    EntrySpec,
    EntryStatus,
    InfoItem,
)
from shared.outbox import Outbox

_NOT_NAME = re.compile(r"[\s\W_]+", re.UNICODE)



@dataclass(frozen=True)
class StandingFlag:
    """A flag as it stood before the entry's flags were replaced (plain values: the rows
    are deleted right after)."""

    responsible: str
    item_name: str
    flagged_at: datetime


Standing = dict[str, StandingFlag]
"""An entry's flags by item code."""


def normalise_item_name(name: str) -> str:
    """Compare names as people read them: full-width folded, spaces and punctuation dropped."""
    return _NOT_NAME.sub("", unicodedata.normalize("NFKC", name)).lower()


async def register_responsibility(session: AsyncSession, outbox: Outbox, *, item_code: str,
                                  item_name: str, department: str,
                                  actor: str) -> CollectionResponsibility:
    """Record (or move) the responsibility for collecting an item, and flag again every
    entry the change may concern: those with an item of that code, or of its old or new
    name."""
    if await session.get(Department, department) is None:
        raise UnknownProvider(f"Department {department} is not registered on this node.",
                              field="department")
    # The old name as a value: an object loaded now would keep the old department when the
    # entries are flagged again below.
    before = await session.scalar(select(CollectionResponsibility.normalised_name).where(
        CollectionResponsibility.item_code == item_code))
    names = {normalise_item_name(item_name)} | ({before} if before else set())
    values = {"item_code": item_code, "item_name": item_name, "department": department,
              "normalised_name": normalise_item_name(item_name), "registered_by": actor,
              "registered_at": clock.now()}
    await session.execute(insert(CollectionResponsibility).values(**values)
                          .on_conflict_do_update(index_elements=["item_code"], set_=values))
    await _flag_again(session, outbox, item_code, names)
    return await session.get(CollectionResponsibility, item_code, populate_existing=True)


async def flag_duplicate_collection(session: AsyncSession, outbox: Outbox, entry: Entry,
                                    spec: EntrySpec) -> list[DuplicateCollectionFlag]:
    """Replace the entry's flags with those its current items deserve; on a published entry,
    announce each flag raised and each cleared."""
    previous = await _standing(session, entry)
    await session.execute(delete(DuplicateCollectionFlag)
                          .where(DuplicateCollectionFlag.entry_id == entry.id))
    flags = []
    owners = await _responsible_for(session, spec.items)
    for item in spec.items:
        owner = owners(item)
        if owner is None or owner.department == entry.provider:
            continue
        before = previous.get(item.code)
        kept = before is not None and before.responsible == owner.department
        flag = DuplicateCollectionFlag(entry_id=entry.id, item_code=item.code,
                                       item_name=item.name, provider=entry.provider,
                                       responsible_department=owner.department,
                                       flagged_at=before.flagged_at if kept else clock.now())
        session.add(flag)
        flags.append(flag)
    await session.flush()
    if entry.status == EntryStatus.published:
        await _announce(session, outbox, entry, spec, previous, flags)
    return flags


async def announce_published(session: AsyncSession, outbox: Outbox, entry: Entry) -> None:
    """The entry was just published: from now on it collects, so each flag it has stands."""
    await _announce(session, outbox, entry, EntrySpec.model_validate(entry.spec), {},
                    await flags_of(session, entry))


async def clear_withdrawn(session: AsyncSession, outbox: Outbox, entry: Entry) -> None:
    """The entry was just withdrawn: it collects nothing any more, so no flag of it stands."""
    for item_code, standing in (await _standing(session, entry)).items():
        await _clear(session, outbox, entry, item_code, standing,
                     ClearedBecause.entry_withdrawn)
    await session.execute(delete(DuplicateCollectionFlag)
                          .where(DuplicateCollectionFlag.entry_id == entry.id))


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


async def _standing(session: AsyncSession, entry: Entry) -> Standing:
    return {flag.item_code: StandingFlag(flag.responsible_department, flag.item_name,
                                         flag.flagged_at)
            for flag in await flags_of(session, entry)}


async def _announce(session: AsyncSession, outbox: Outbox, entry: Entry, spec: EntrySpec,
                    previous: Standing, flags: list[DuplicateCollectionFlag]) -> None:
    """Clear the flags that no longer stand (or now name another department), then raise
    the new ones; a flag unchanged is not said again."""
    items = {item.code: item for item in spec.items}
    current = {flag.item_code: flag.responsible_department for flag in flags}
    for item_code, standing in previous.items():
        if current.get(item_code) != standing.responsible:
            because = (ClearedBecause.responsibility_changed if item_code in items
                       else ClearedBecause.item_removed)
            await _clear(session, outbox, entry, item_code, standing, because)
    for flag in flags:
        before = previous.get(flag.item_code)
        if before is None or before.responsible != flag.responsible_department:
            await outbox.add(session, entry.provider, DuplicateCollectionFlagged(
                entry_code=entry.code, provider=entry.provider, item_code=flag.item_code,
                item_name=flag.item_name, responsible_department=flag.responsible_department,
                identifies_subject=items[flag.item_code].identifies_subject))


async def _clear(session: AsyncSession, outbox: Outbox, entry: Entry, item_code: str,
                 standing: StandingFlag, because: ClearedBecause) -> None:
    session.add(DuplicateCollectionClearance(
        entry_code=entry.code, item_code=item_code, item_name=standing.item_name,
        provider=entry.provider, responsible_department=standing.responsible,
        flagged_at=standing.flagged_at, cleared_because=because))
    await outbox.add(session, entry.provider, DuplicateCollectionCleared(
        entry_code=entry.code, provider=entry.provider, item_code=item_code,
        responsible_department=standing.responsible, reason=because))


async def _flag_again(session: AsyncSession, outbox: Outbox, item_code: str,
                      names: set[str]) -> None:
    """Flag again the entries (not withdrawn) with an item of this code or of one of these
    names. Names match only once normalised, so the items are read as they stream by: the
    register changes rarely, and the catalog is not held in memory meanwhile."""
    concerned: list[uuid.UUID] = []
    rows = await session.stream(select(Entry.id, Entry.spec["items"]).where(
        Entry.status != EntryStatus.withdrawn))
    async for entry_id, items in rows:
        if any(item["code"] == item_code or normalise_item_name(item["name"]) in names
               for item in items):
            concerned.append(entry_id)
    for entry_id in concerned:
        entry = await session.get(Entry, entry_id, with_for_update=True)
        if entry is not None:
            await flag_duplicate_collection(session, outbox, entry,
                                            EntrySpec.model_validate(entry.spec))


async def _responsible_for(session: AsyncSession, items: list[InfoItem]
                           ) -> Callable[[InfoItem], CollectionResponsibility | None]:
    """Who the register says collects each of `items`, by the item's code or else its
    normalised name: one query for all of an entry's items."""
    codes = {item.code for item in items}
    names = {normalise_item_name(item.name) for item in items}
    registered = list(await session.scalars(select(CollectionResponsibility).where(or_(
        CollectionResponsibility.item_code.in_(codes),
        CollectionResponsibility.normalised_name.in_(names)))))
    by_code = {each.item_code: each for each in registered}
    by_name = {each.normalised_name: each for each in registered}
    return lambda item: by_code.get(item.code) or by_name.get(normalise_item_name(item.name))
