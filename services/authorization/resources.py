"""What the sharing workflow knows of the catalog and the calendar, kept from catalog events.

Requests are checked against this read model, never by calling the catalog. A catalog change
reaches the grants here: a withdrawn entry closes its open requests and ends its grants; an
entry that drops items narrows the grants that held them.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization import grants, requests
from services.authorization.deadlines import mirror_schedule
from services.authorization.models import SharedResource
from shared.consumer import EventHandler
from shared.contracts.catalog import (
    EntryEvent,
    EntryPublished,
    EntrySnapshot,
    EntryStatus,
    EntryUpdated,
    EntryWithdrawn,
    HolidayScheduleLoaded,
)
from shared.events import EventEnvelope
from shared.outbox import Outbox


def catalog_handlers(outbox: Outbox) -> dict[str, EventHandler]:
    """The catalog events this service applies; their effects may emit grant events."""

    async def apply_entry(session: AsyncSession, envelope: EventEnvelope) -> None:
        entry = EntryEvent.model_validate(envelope.data).entry
        if not await _store_if_newer(session, entry):
            return
        if entry.status == EntryStatus.withdrawn:
            reason = f"Catalog entry {entry.code} was withdrawn."
            await requests.close_for_withdrawn_entry(session, outbox, entry.code, reason)
            await grants.end_for_entry(session, outbox, entry.code, reason)
        else:
            await grants.narrow_to_catalogued(session, outbox, entry.code,
                                              {item.code for item in entry.items})

    return {
        EntryPublished.event_type: apply_entry,
        EntryUpdated.event_type: apply_entry,
        EntryWithdrawn.event_type: apply_entry,
        HolidayScheduleLoaded.event_type: mirror_schedule,
    }


async def _store_if_newer(session: AsyncSession, entry: EntrySnapshot) -> bool:
    """Upsert the entry unless a later version is already stored (events may come late)."""
    values = {
        "code": entry.code, "provider": entry.provider, "provider_name": entry.provider_name,
        "name": entry.name, "status": entry.status, "version": entry.version,
        "share_type": entry.share.type, "permitted_uses": list(entry.share.permitted_uses),
        "item_share_types": {item.code: item.share_type for item in entry.items},
        "methods": list(entry.share.methods), "sensitive": entry.share.sensitive,
    }
    stored = await session.scalar(
        insert(SharedResource).values(**values)
        .on_conflict_do_update(index_elements=[SharedResource.code], set_=values,
                               where=SharedResource.version < entry.version)
        .returning(SharedResource.code)
    )
    return stored is not None
