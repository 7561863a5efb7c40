"""What the authorization service does with the catalog's events.

Requests are checked against its own read model of the catalog, never by calling the
catalog. A catalog change reaches the grants here: a withdrawn entry closes its open requests
and ends its grants; an entry that drops items narrows the grants that held them. Schedules
the competent authority loads are mirrored for the answer deadlines (A2).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization import deadlines, grants, requests, resources
from shared.contracts.catalog import (
    EntryEvent,
    EntryPublished,
    EntryStatus,
    EntryUpdated,
    EntryWithdrawn,
    HolidayScheduleLoaded,
)
from shared.handlers import Event, Handlers
from shared.outbox import Outbox

handlers = Handlers()


@handlers.on(EntryPublished, EntryUpdated, EntryWithdrawn)
async def apply_entry(session: AsyncSession, event: Event[EntryEvent], outbox: Outbox) -> None:
    """Keep the entry; a withdrawal ends what depended on it, a narrowing narrows grants."""
    entry = event.payload.entry
    if not await resources.store_if_newer(session, entry):
        return
    if entry.status == EntryStatus.withdrawn:
        reason = f"Catalog entry {entry.code} was withdrawn."
        await requests.close_for_withdrawn_entry(session, outbox, entry.code, reason)
        await grants.end_for_entry(session, outbox, entry.code, reason)
    else:
        await grants.narrow_to_catalogued(session, outbox, entry.code,
                                          {item.code for item in entry.items})


@handlers.on(HolidayScheduleLoaded)
async def mirror_schedule(session: AsyncSession, event: Event[HolidayScheduleLoaded],
                          outbox: Outbox) -> None:
    await deadlines.mirror_schedule(session, event.payload)
