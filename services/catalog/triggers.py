"""C6: when a law or a department's functions change, its catalog is due for an update
within 15 working days [51 §8, JS §9]. The platform records such triggers, computes their due
dates with the working-day calendar, and lists the overdue ones per department.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.exceptions import TriggerNotFound, UnknownProvider
from services.catalog.models import ChangeTrigger, Department, HolidayScheduleRecord
from shared.contracts.catalog import HolidayScheduleLoaded, TriggerRecorded, TriggerResolved
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page
from shared.workdays import HolidaySchedule, WorkdayCalendar

CATALOG_UPDATE_WORKDAYS = 15


async def working_calendar(session: AsyncSession) -> WorkdayCalendar:
    """The calendar with every schedule the competent authority has loaded."""
    return WorkdayCalendar.from_records(await session.scalars(select(HolidayScheduleRecord)))


async def load_schedule(session: AsyncSession, outbox: Outbox, schedule: HolidaySchedule,
                        actor: str) -> None:
    """Store (or replace) a year's State Council schedule and announce it: other services
    count their deadlines (A2's answer period) with the same calendar."""
    values = {"year": schedule.year, "holidays": sorted(schedule.holidays),
              "adjusted_workdays": sorted(schedule.adjusted_workdays), "loaded_by": actor,
              "loaded_at": datetime.now(UTC)}
    await session.execute(insert(HolidayScheduleRecord).values(**values).on_conflict_do_update(
        index_elements=[HolidayScheduleRecord.year], set_=values))
    await outbox.add(session, str(schedule.year), HolidayScheduleLoaded(
        year=schedule.year, holidays=sorted(schedule.holidays),
        adjusted_workdays=sorted(schedule.adjusted_workdays)))


async def record_trigger(session: AsyncSession, outbox: Outbox, *, department: str, kind: str,
                         description: str, occurred_on: date, actor: str) -> ChangeTrigger:
    """Record a change that obliges `department` to update its catalog; compute the due date."""
    if await session.get(Department, department) is None:
        raise UnknownProvider(f"Department {department} is not registered on this node.",
                              field="department")
    calendar = await working_calendar(session)
    trigger = ChangeTrigger(
        department=department, kind=kind, description=description, occurred_on=occurred_on,
        due_on=calendar.add_workdays(occurred_on, CATALOG_UPDATE_WORKDAYS),
        calendar_basis=sorted(calendar.deadline_basis(occurred_on, CATALOG_UPDATE_WORKDAYS)),
        recorded_by=actor,
    )
    session.add(trigger)
    await session.flush()
    await outbox.add(session, department, TriggerRecorded(
        trigger_id=trigger.id, department=department, kind=kind, occurred_on=occurred_on,
        due_on=trigger.due_on))
    return trigger


async def resolve_trigger(session: AsyncSession, outbox: Outbox, trigger_id: object, *,
                          actor: str, note: str) -> ChangeTrigger:
    """Mark a trigger met (the catalog was updated); lateness stays visible."""
    trigger = await session.get(ChangeTrigger, trigger_id, with_for_update=True)
    if trigger is None:
        raise TriggerNotFound(f"No change trigger has id {trigger_id}.")
    if trigger.resolved_at is None:
        trigger.resolved_at, trigger.resolved_by, trigger.resolution = (
            datetime.now(UTC), actor, note)
        await session.flush()
        await outbox.add(session, trigger.department, TriggerResolved(
            trigger_id=trigger.id, department=trigger.department,
            resolved_on=trigger.resolved_at.date(), due_on=trigger.due_on))
    return trigger


async def list_triggers(session: AsyncSession, page: PageParams, *, department: str | None,
                        overdue_on: date | None) -> tuple[list[ChangeTrigger], int]:
    """Triggers, optionally only those unresolved past their due date on `overdue_on`."""
    query = select(ChangeTrigger)
    if department:
        query = query.where(ChangeTrigger.department == department)
    if overdue_on:
        query = query.where(ChangeTrigger.resolved_at.is_(None),
                            ChangeTrigger.due_on < overdue_on)
    return await fetch_page(session, query.order_by(ChangeTrigger.due_on), page)
