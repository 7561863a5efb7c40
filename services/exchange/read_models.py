"""The exchange's own view of entries and grants, kept from catalog and sharing events.

Every data access is decided from `grant_view`, never by calling the authorization service;
a grant event applies only if it is newer than what is stored, so a late or repeated event
cannot bring back a revoked grant.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange.models import GrantView, Resource
from shared.contracts.catalog import (
    EntryEvent,
    EntryPublished,
    EntryUpdated,
    EntryWithdrawn,
)
from shared.contracts.sharing import GRANT_EVENTS, GrantEvent
from shared.events import EventEnvelope


async def apply_entry(session: AsyncSession, envelope: EventEnvelope) -> None:
    entry = EntryEvent.model_validate(envelope.data).entry
    values = {
        "code": entry.code, "provider": entry.provider, "name": entry.name,
        "status": entry.status, "version": entry.version, "update_cycle": entry.update_cycle,
        "items": [item.model_dump(mode="json", include={
            "code", "name", "data_type", "length", "identifies_subject"}) for item in entry.items],
        "key_items": [item.code for item in entry.items if item.identifies_subject],
    }
    await session.execute(insert(Resource).values(**values).on_conflict_do_update(
        index_elements=[Resource.code], set_=values, where=Resource.version < entry.version))


async def apply_grant(session: AsyncSession, envelope: EventEnvelope) -> None:
    grant = GrantEvent.model_validate(envelope.data).grant
    values = {"id": grant.id, "consumer": grant.consumer, "entry_code": grant.entry_code,
              "status": grant.status, "version": grant.version,
              "snapshot": grant.model_dump(mode="json")}
    await session.execute(insert(GrantView).values(**values).on_conflict_do_update(
        index_elements=[GrantView.id], set_=values, where=GrantView.version < grant.version))


HANDLERS = {
    EntryPublished.event_type: apply_entry,
    EntryUpdated.event_type: apply_entry,
    EntryWithdrawn.event_type: apply_entry,
    **{event.event_type: apply_grant for event in GRANT_EVENTS},
}
