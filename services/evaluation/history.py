"""Whether the broker still holds the history the evaluation's facts were built from.

The facts are a projection of events; a rebuild clears them and consumes the history again.
That is safe only while the broker holds all of it. Kafka retention removing a topic's first
records shows in its beginning offsets (the consumer checks). A broker that restarted empty
(the embedded one keeps nothing; producers then republish only their retained outbox rows)
shows as a new log under a model that already holds events: recorded here as a gap.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation.models import FACT_TABLES, HistoryGap


async def note_gap(session: AsyncSession) -> None:
    session.add(HistoryGap())


async def gaps(session: AsyncSession) -> list[datetime]:
    return list(await session.scalars(select(HistoryGap.detected_at)
                                      .order_by(HistoryGap.detected_at)))


async def clear_facts(session: AsyncSession) -> None:
    """The rebuild's reset: no fact, and no gap (the new facts are what the broker holds)."""
    names = ", ".join(f'"{table.__tablename__}"' for table in FACT_TABLES)
    await session.execute(text(f"TRUNCATE {names}"))
    await session.execute(delete(HistoryGap))
