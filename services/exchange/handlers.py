"""What the exchange does with other services' events, and with streamed ingest.

Every data access is decided from its own view of entries and grants (`resource`,
`grant_view`), never by calling the catalog or the authorization service; an entry or grant
event applies only if it is newer than what is stored, so a late or repeated event cannot
bring back a revoked grant. Records a provider streams to the ingest topic are stored here,
once its system has proved sending them (`ingest_auth`).
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange import loading
from services.exchange.ingest_auth import IngestGate, IngestRefused
from services.exchange.models import GrantView, Resource
from shared.contracts.catalog import (
    EntryEvent,
    EntryPublished,
    EntryStatus,
    EntryUpdated,
    EntryWithdrawn,
)
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
        # A withdrawn entry's data is no one's to download any more.
        "open_items": entry.open_items() if entry.status == EntryStatus.published else [],
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


def with_ingest(gate: IngestGate) -> Handlers:
    """Every event the exchange applies: the read models' (`handlers`), and streamed records,
    each from a sender `gate` admits."""
    applied = Handlers().include(handlers)

    async def store(session: AsyncSession, event: Event[IngestRecord], outbox: Outbox) -> None:
        await store_ingested(gate, session, event, outbox)

    applied.add(IngestRecord, store)
    return applied


async def store_ingested(gate: IngestGate, session: AsyncSession, event: Event[IngestRecord],
                         outbox: Outbox) -> None:
    """Store a streamed record its entry's provider proved sending; refuse (answered and
    audited, never retried) one from anyone else (E1)."""
    ingested = event.payload
    resource = await session.get(Resource, ingested.entry_code)
    try:
        await gate.admit(resource, ingested, event.id)
    except IngestRefused as refused:
        await gate.refuse(session, outbox, refused, ingested=ingested, ingest_id=event.id,
                          source=event.source, resource=resource)
        return
    await loading.apply_ingested(session, ingested, event.id, outbox)
