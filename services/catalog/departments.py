"""The catalog's read model of departments, kept from identity events."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Department
from shared.contracts import DepartmentRegistered, DepartmentUpdated
from shared.events import EventEnvelope


async def upsert_department(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Apply identity.department.registered/updated: the latest state wins."""
    department = DepartmentRegistered.model_validate(envelope.data)
    values = department.model_dump(mode="json")
    await session.execute(
        insert(Department).values(**values).on_conflict_do_update(
            index_elements=[Department.credit_code], set_=values)
    )


HANDLERS = {
    DepartmentRegistered.event_type: upsert_department,
    DepartmentUpdated.event_type: upsert_department,
}
