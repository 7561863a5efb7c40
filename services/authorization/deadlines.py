"""The provider's deadline to answer (A2), counted on the shared working-day calendar.

The calendar's schedules are the ones the competent authority loaded at the catalog, mirrored
here from its events, over `chinesecalendar` and a Monday–Friday fallback. The period is the
node's (`answer_workdays`): each tier runs its own node and may set a shorter one.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization.models import HolidayScheduleMirror
from shared.contracts.catalog import HolidayScheduleLoaded
from shared.workdays import Basis, WorkdayCalendar, china_date


async def working_calendar(session: AsyncSession) -> WorkdayCalendar:
    """The calendar with every schedule the competent authority has loaded."""
    return WorkdayCalendar.from_records(await session.scalars(select(HolidayScheduleMirror)))


def answer_due_on(calendar: WorkdayCalendar, submitted_at: datetime,
                  workdays: int) -> tuple[date, list[Basis]]:
    """The last day of the answer period of a request submitted at `submitted_at`, and where
    the working days that count came from. The day of submission does not count."""
    filed_on = china_date(submitted_at)
    return (calendar.add_workdays(filed_on, workdays),
            sorted(calendar.deadline_basis(filed_on, workdays)))


async def mirror_schedule(session: AsyncSession, schedule: HolidayScheduleLoaded) -> None:
    """Keep a schedule the catalog announced: the latest load of a year wins."""
    values = schedule.model_dump()
    await session.execute(insert(HolidayScheduleMirror).values(**values).on_conflict_do_update(
        index_elements=[HolidayScheduleMirror.year], set_=values))
