"""Reminders no event announces: a request due within 3 working days (A4), and a grant
whose last day is within 7 days. Each is posted once per due date (a renewal that moves the
date reminds again), so the jobs may run on several replicas, and as often as they like.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.portal import inbox, notices
from services.portal.models import GrantTerm, HolidaySchedule, RequestDeadline
from shared import clock
from shared.db import transaction
from shared.workdays import WorkdayCalendar, china_date

DUE_SOON_WORKDAYS = 3
EXPIRING_DAYS = 7


async def remind_due_requests(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Remind providers of answers due within 3 working days; returns how many were new."""
    now = clock.now()
    today = china_date(now)
    posted = 0
    async with transaction(sessions) as session:
        calendar = WorkdayCalendar.from_records(await session.scalars(select(HolidaySchedule)))
        horizon = calendar.add_workdays(today, DUE_SOON_WORKDAYS)
        due = list(await session.scalars(select(RequestDeadline).where(
            RequestDeadline.status == "submitted",
            RequestDeadline.due_on >= today, RequestDeadline.due_on <= horizon)))
        for request in due:
            assert request.due_on is not None
            draft = notices.request_due_soon(
                request.request_id, request.provider, request.consumer, request.entry_name,
                request.due_on, calendar.workdays_between(today, request.due_on))
            posted += await _post_once(session, draft, f"due-soon/{request.request_id}/"
                                                       f"{request.due_on}", now)
    return posted


async def remind_expiring_grants(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Tell both parties of grants in force whose last day is within 7 days."""
    now = clock.now()
    today = china_date(now)
    posted = 0
    async with transaction(sessions) as session:
        ending = list(await session.scalars(select(GrantTerm).where(
            GrantTerm.status == "active", GrantTerm.valid_until >= today,
            GrantTerm.valid_until <= today + timedelta(days=EXPIRING_DAYS))))
        for grant in ending:
            for draft in notices.grant_expiring(grant.grant_id, grant.consumer, grant.provider,
                                                grant.entry_code, grant.valid_until):
                posted += await _post_once(session, draft, f"expiring/{grant.grant_id}/"
                                           f"{grant.valid_until}/{draft.department}", now)
    return posted


async def _post_once(session: AsyncSession, draft: notices.Draft, key: str,
                     now: datetime) -> int:
    return int(await inbox.post(session, draft, key=key, occurred_at=now) is not None)
