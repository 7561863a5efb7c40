"""What the exchange does with other services' events, and with streamed ingest.

Every data access is decided from its own view of entries and grants (`resource`,
`grant_view`), never by calling the catalog or the authorization service; an entry or grant
event applies only if it is newer than what is stored, so a late or repeated event cannot
bring back a revoked grant. Records a provider streams to the ingest topic are stored here.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange import loading
from services.exchange.models import GrantView, Resource
from shared.contracts.catalog import EntryEvent, EntryPublished, EntryUpdated, EntryWithdrawn
from shared.contracts.exchange import IngestRecord
from shared.contracts.sharing import GRANT_EVENTS, GrantEvent
from shared.handlers import Event, Handlers
from shared.outbox import Outbox

handlers = Handlers()


@handlers.on(EntryPublished, EntryUpdated, EntryWithdrawn)
async def apply_entry(session: AsyncSession, event: Event[EntryEvent], outbox: Outbox) -> None:
    entry = event.payload.entry
    values = {
        "code": entry.code, "provider": entry.provider, "name": entry.name,
        "status": entry.status, "version": entry.version, "update_cycle": entry.update_cycle,
        "items": [item.model_dump(mode="json", include={
            "code", "name", "data_type", "length", "identifies_subject"}) for item in entry.items],
        "key_items": [item.code for item in entry.items if item.identifies_subject],
    }
    await session.execute(insert(Resource).values(**values).on_conflict_do_update(
        index_elements=[Resource.code], set_=values, where=Resource.version < entry.version))


@handlers.on(*GRANT_EVENTS)
async def apply_grant(session: AsyncSession, event: Event[GrantEvent], outbox: Outbox) -> None:
    grant = event.payload.grant
    values = {"id": grant.id, "consumer": grant.consumer, "entry_code": grant.entry_code,
              "status": grant.status, "version": grant.version,
              "snapshot": grant.model_dump(mode="json")}
    await session.execute(insert(GrantView).values(**values).on_conflict_do_update(
        index_elements=[GrantView.id], set_=values, where=GrantView.version < grant.version))


@handlers.on(IngestRecord)
async def store_ingested(session: AsyncSession, event: Event[IngestRecord],
                         outbox: Outbox) -> None:
    await loading.apply_ingested(session, event.payload, event.id, outbox)
