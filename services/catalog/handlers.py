"""What the catalog does with other services' events: its read models of identity's
departments and of the nodes this one is linked to, and what the exchange says of each
entry's data (search ranks by it)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Department, EntryActivity, LinkedNode
from shared.contracts import DepartmentRegistered, DepartmentUpdated, NodeLinked
from shared.contracts.exchange import (
    AccessKind,
    AuditSealed,
    RecordsLoaded,
    SourceApiRegistered,
)
from shared.handlers import Event, Handlers
from shared.outbox import Outbox

handlers = Handlers()


@handlers.on(DepartmentRegistered, DepartmentUpdated)
async def upsert_department(
    session: AsyncSession, event: Event[DepartmentRegistered | DepartmentUpdated],
    outbox: Outbox,
) -> None:
    """The latest state of a department wins."""
    values = event.payload.model_dump(mode="json")
    await session.execute(insert(Department).values(**values).on_conflict_do_update(
        index_elements=[Department.credit_code], set_=values))


@handlers.on(NodeLinked)
async def node_linked(session: AsyncSession, event: Event[NodeLinked], outbox: Outbox) -> None:
    values = event.payload.node.model_dump(mode="json")
    await session.execute(insert(LinkedNode).values(**values).on_conflict_do_update(
        index_elements=[LinkedNode.node_id], set_=values))


# Accesses that used an entry's data (not the refused ones, nor a sender's refused ingest),
# by departments: anyone may download open data, as often as they like, so it ranks nothing.
USES = {AccessKind.query, AccessKind.download, AccessKind.delivery}


@handlers.on(RecordsLoaded)
async def records_loaded(session: AsyncSession, event: Event[RecordsLoaded],
                         outbox: Outbox) -> None:
    """A load that took no record put no data on the platform."""
    loaded = event.payload
    if loaded.accepted:
        await _active(session, loaded.entry_code, data_since=loaded.loaded_at,
                      last_loaded_at=loaded.loaded_at)


@handlers.on(SourceApiRegistered)
async def source_api_registered(session: AsyncSession, event: Event[SourceApiRegistered],
                                outbox: Outbox) -> None:
    """Data served from the provider's own API is data the platform holds (E1)."""
    api = event.payload
    await _active(session, api.entry_code, data_since=api.registered_at)


@handlers.on(AuditSealed)
async def audit_sealed(session: AsyncSession, event: Event[AuditSealed], outbox: Outbox) -> None:
    uses: Counter[str] = Counter()
    for usage in event.payload.usage:
        if usage.denied is None and usage.kind in USES:
            uses[usage.entry_code] += usage.accesses
    for entry_code, accesses in sorted(uses.items()):  # one order: no deadlock between replicas
        statement = insert(EntryActivity).values(entry_code=entry_code, uses=accesses)
        await session.execute(statement.on_conflict_do_update(
            index_elements=[EntryActivity.entry_code],
            set_={"uses": EntryActivity.uses + statement.excluded.uses}))


async def _active(session: AsyncSession, entry_code: str, *, data_since: datetime,
                  last_loaded_at: datetime | None = None) -> None:
    """Merge what an event says: the earliest time data arrived, the latest load (events may
    come in any order after a replay)."""
    statement = insert(EntryActivity).values(entry_code=entry_code, data_since=data_since,
                                             last_loaded_at=last_loaded_at)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[EntryActivity.entry_code], set_={
            "data_since": func.least(EntryActivity.data_since, statement.excluded.data_since),
            "last_loaded_at": func.greatest(EntryActivity.last_loaded_at,
                                            statement.excluded.last_loaded_at)}))
