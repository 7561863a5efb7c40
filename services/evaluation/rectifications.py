"""The rectification list announced (V2 [51 §24, JS §25]): once last year's report is due,
each department's findings go out as events, so the department hears what to rectify and by
when (the portal's inbox tells it). Each item once: a finding that appears later (a late
fact) is announced when it appears; none is announced twice, on any replica, after any
rebuild of the facts.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.evaluation import report, scoring
from services.evaluation.method import current_method
from services.evaluation.models import RectificationAnnouncement
from services.evaluation.periods import Period
from shared import clock
from shared.contracts.evaluation import RectificationListed
from shared.db import transaction
from shared.outbox import Outbox
from shared.workdays import china_date


async def announce_due(sessions: async_sessionmaker[AsyncSession], outbox: Outbox) -> int:
    """Announce last year's rectification items not announced yet, once its report is due;
    returns how many were new."""
    now = clock.now()
    year = china_date(now).year - 1
    announced = 0
    async with transaction(sessions) as session:
        _, method = await current_method(session)
        if china_date(now) <= scoring.report_due_on(year, method):
            return 0
        _, ranked = await report.evaluate(session, Period.year(year), method, now=now)
        deadline = scoring.rectification_deadline(year, method)
        for item in scoring.rectifications(ranked, method, deadline):
            first = await session.scalar(insert(RectificationAnnouncement).values(
                year=year, department=item.department, indicator=item.indicator,
            ).on_conflict_do_nothing().returning(RectificationAnnouncement.year))
            if first is None:
                continue
            await outbox.add(session, f"{year}/{item.department}/{item.indicator}",
                             RectificationListed(year=year, department=item.department,
                                                 indicator=item.indicator, points=item.points,
                                                 evidence=item.evidence,
                                                 deadline=item.deadline))
            announced += 1
    return announced
