"""What the catalog does with other services' events: its read models of identity's
departments and of the nodes this one is linked to."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Department, LinkedNode
from shared.contracts import DepartmentRegistered, DepartmentUpdated, NodeLinked
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
