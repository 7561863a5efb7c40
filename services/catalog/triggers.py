"""C6: when a law or a department's functions change, its catalog is due for an update
within 15 working days [51 §8, JS §9]. The platform records such triggers, computes their due
dates with the working-day calendar, and lists the overdue ones per department.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.exceptions import TriggerNotAnswered, TriggerNotFound, UnknownProvider
from services.catalog.models import (
    ChangeTrigger,
    Department,
    Entry,
    EntryVersion,
    HolidayScheduleRecord,
)
from shared import clock
from shared.contracts.catalog import (
    EntryStatus,
    HolidayScheduleLoaded,
    TriggerRecorded,
    TriggerResolved,
)
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page
from shared.workdays import CHINA_TIME, Basis, HolidaySchedule, WorkdayCalendar, china_date

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
              "loaded_at": clock.now()}
    await session.execute(insert(HolidayScheduleRecord).values(**values).on_conflict_do_update(
        index_elements=[HolidayScheduleRecord.year], set_=values))
    await outbox.add(session, str(schedule.year), HolidayScheduleLoaded(
        year=schedule.year, holidays=sorted(schedule.holidays),
        adjusted_workdays=sorted(schedule.adjusted_workdays)))
    await _recount_fallback_due_dates(session, outbox)


async def _recount_fallback_due_dates(session: AsyncSession, outbox: Outbox) -> None:
    """Due dates counted on the Monday–Friday fallback (a year no schedule was known for,
    元旦 counted as a working day) are counted again on the calendar as now loaded, resolved
    ones too, since their lateness depends on it; a due date that moves is announced again."""
    calendar = await working_calendar(session)
    counted_on_fallback = await session.scalars(
        select(ChangeTrigger).where(ChangeTrigger.calendar_basis.any_() ==
                                    Basis.weekday_fallback.value).with_for_update())
    for trigger in counted_on_fallback:
        trigger.calendar_basis = sorted(
            calendar.deadline_basis(trigger.occurred_on, CATALOG_UPDATE_WORKDAYS))
        due_on = calendar.add_workdays(trigger.occurred_on, CATALOG_UPDATE_WORKDAYS)
        if due_on != trigger.due_on:
            trigger.due_on = due_on
            await _announce_recorded(session, outbox, trigger)


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
    await _announce_recorded(session, outbox, trigger)
    return trigger


async def _announce_recorded(session: AsyncSession, outbox: Outbox,
                             trigger: ChangeTrigger) -> None:
    await session.flush()
    await outbox.add(session, trigger.department, TriggerRecorded(
        trigger_id=trigger.id, department=trigger.department, kind=trigger.kind,
        occurred_on=trigger.occurred_on, due_on=trigger.due_on))


async def resolve_trigger(session: AsyncSession, outbox: Outbox, trigger_id: object, *,
                          actor: str, entry_code: str, note: str) -> ChangeTrigger:
    """Mark a trigger met by the catalog change that answers it: a version of one of the
    department's entries made on or after the change occurred (C6). Lateness stays visible."""
    trigger = await session.get(ChangeTrigger, trigger_id, with_for_update=True)
    if trigger is None:
        raise TriggerNotFound(f"No change trigger has id {trigger_id}.")
    if trigger.resolved_at is None:
        answer = await _answering_version(session, trigger, entry_code)
        trigger.resolved_at, trigger.resolved_by, trigger.resolution = (
            clock.now(), actor, note)
        trigger.answered_by_entry, trigger.answered_by_version = entry_code, answer
        await session.flush()
        await outbox.add(session, trigger.department, TriggerResolved(
            trigger_id=trigger.id, department=trigger.department,
            resolved_on=china_date(trigger.resolved_at), due_on=trigger.due_on))
    return trigger


async def _answering_version(session: AsyncSession, trigger: ChangeTrigger,
                             entry_code: str) -> int:
    entry = await session.scalar(select(Entry).where(Entry.code == entry_code))
    if entry is None or entry.provider != trigger.department:
        raise TriggerNotAnswered(
            f"{entry_code} is not an entry of department {trigger.department}.",
            field="entry_code")
    # Versions are dated in China Standard Time, as the day the change occurred is.
    since = datetime.combine(trigger.occurred_on, time.min, tzinfo=CHINA_TIME)
    version = await session.scalar(
        select(func.min(EntryVersion.version)).where(
            EntryVersion.entry_id == entry.id, EntryVersion.changed_at >= since,
            # A draft changes nothing other departments see: the catalog is not updated yet.
            EntryVersion.status != EntryStatus.draft))
    if version is None:
        raise TriggerNotAnswered(
            f"{entry_code} has no published change since {trigger.occurred_on}: update the "
            "entry as the change requires (items, abstract, share attributes) and publish it, "
            "or withdraw it, then resolve the trigger with it.", field="entry_code")
    return int(version)


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
