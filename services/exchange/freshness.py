"""Freshness and consistency (E7) [51 §13]: is each entry updated as often as it declares,
and do two sources agree on an item they both hold (多元校核)?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange.exceptions import BadKey
from services.exchange.models import CrossCheck, Resource, SourceApi
from shared.contracts.catalog import UpdateCycle
from shared.contracts.exchange import CrossCheckCompleted, EntryStale, RecordsLoaded
from shared.outbox import Outbox

# How long after its last update an entry is stale: its longest cycle and some grace (a
# weekly entry loaded on Monday night is still fresh on the next Tuesday morning). `other`
# declares no period, so such an entry is never stale.
STALE_AFTER: dict[str, timedelta] = {
    UpdateCycle.realtime: timedelta(hours=2),
    UpdateCycle.daily: timedelta(days=2), UpdateCycle.weekly: timedelta(days=8),
    UpdateCycle.monthly: timedelta(days=32), UpdateCycle.quarterly: timedelta(days=93),
    UpdateCycle.half_yearly: timedelta(days=184), UpdateCycle.yearly: timedelta(days=367),
}
SAMPLES = 100


def stale_after(cycle: str) -> timedelta | None:
    """How long an entry of this cycle stays fresh; None if the cycle declares no period
    (`other`, or one this node does not know: one entry must not stop the sweep)."""
    return STALE_AFTER.get(cycle)


@dataclass(frozen=True)
class Freshness:
    entry_code: str
    provider: str
    name: str
    update_cycle: str
    last_update: datetime | None
    due_by: datetime | None
    state: str  # fresh, stale, no_data, no_cycle, live (served from the provider's own API)


def freshness_of(resource: Resource, live: bool, now: datetime) -> Freshness:
    period = stale_after(resource.update_cycle)
    if live:
        state, due_by = "live", None
    elif resource.last_loaded_at is None:
        state, due_by = "no_data", None
    elif period is None:
        state, due_by = "no_cycle", None
    else:
        due_by = resource.last_loaded_at + period
        state = "stale" if now > due_by else "fresh"
    return Freshness(resource.code, resource.provider, resource.name, resource.update_cycle,
                     resource.last_loaded_at, due_by, state)


async def survey(session: AsyncSession, now: datetime, *, provider: str | None,
                 state: str | None) -> list[Freshness]:
    query = select(Resource).where(Resource.status == "published")
    if provider:
        query = query.where(Resource.provider == provider)
    live = set(await session.scalars(select(SourceApi.entry_code)))
    found = [freshness_of(r, r.code in live, now)
             for r in await session.scalars(query.order_by(Resource.code))]
    return [f for f in found if state is None or f.state == state]


async def sweep(session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """The periodic job: announce what was streamed in since the last run, then flag the
    entries newly stale (the number flagged)."""
    await announce_streamed_loads(session, outbox, now)
    return await flag_stale(session, outbox, now)


STREAMED_LOADS = text("""
    WITH pending AS (
        SELECT code, provider, ingested_accepted, ingested_rejected, last_loaded_at
        FROM resource WHERE ingested_accepted > 0 OR ingested_rejected > 0
        FOR UPDATE SKIP LOCKED)
    UPDATE resource SET ingested_accepted = 0, ingested_rejected = 0
    FROM pending WHERE resource.code = pending.code
    RETURNING pending.code, pending.provider, pending.ingested_accepted,
              pending.ingested_rejected, pending.last_loaded_at
""")


async def announce_streamed_loads(session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """One RecordsLoaded per entry for the records streamed in since the last sweep, as a
    bulk load says it once; returns how many entries were announced. An entry being
    streamed into right now is left for the next sweep rather than waited for."""
    rows = (await session.execute(STREAMED_LOADS)).all()
    for code, provider, accepted, rejected, loaded_at in rows:
        await outbox.add(session, code, RecordsLoaded(
            entry_code=code, provider=provider, accepted=accepted, rejected=rejected,
            loaded_at=loaded_at or now))
    return len(rows)


async def flag_stale(session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """Mark entries newly past their cycle and say so once per lapse (the evaluation counts
    it against the provider); a later load clears the mark."""
    candidates = await session.scalars(
        select(Resource).where(Resource.status == "published",
                               Resource.last_loaded_at.isnot(None),
                               Resource.stale_since.is_(None),
                               Resource.update_cycle.in_([str(cycle) for cycle in STALE_AFTER]))
        .with_for_update(skip_locked=True))
    flagged = 0
    for resource in candidates:
        assert resource.last_loaded_at is not None
        period = stale_after(resource.update_cycle)
        if period is None or now <= resource.last_loaded_at + period:
            continue
        resource.stale_since = now
        await outbox.add(session, resource.code, EntryStale(
            entry_code=resource.code, provider=resource.provider,
            update_cycle=resource.update_cycle, last_update=resource.last_loaded_at,
            detected_at=now))
        flagged += 1
    return flagged


CROSS_CHECK = text("""
    SELECT l.key, l.data->>:left_item AS left_value, r.data->>:right_item AS right_value
    FROM record l JOIN record r ON r.entry_code = :right_entry AND r.key = l.key
    WHERE l.entry_code = :left_entry AND NOT l.deleted AND NOT r.deleted
""")


async def cross_check(session: AsyncSession, outbox: Outbox, *, left: Resource,
                      left_item: str, right: Resource, right_item: str,
                      actor: str) -> CrossCheck:
    """Compare an item both entries hold for the same subjects (joined by their keys), and
    say what was found: the evaluation counts differences against both providers."""
    for resource, item in ((left, left_item), (right, right_item)):
        if item not in {i["code"] for i in resource.items}:
            raise BadKey(f"Entry {resource.code} has no item {item}.", field="item")
    if len(left.key_items) != len(right.key_items) or not left.key_items:
        raise BadKey("Both entries must be keyed by the same subject identifier.",
                     field="right_entry")
    compared, samples, mismatched = 0, [], 0
    rows = await session.stream(CROSS_CHECK, {
        "left_item": left_item, "right_item": right_item, "left_entry": left.code,
        "right_entry": right.code})
    async for key, left_value, right_value in rows:
        compared += 1
        if left_value != right_value:
            mismatched += 1
            if len(samples) < SAMPLES:
                samples.append({"key": key.split("\x1f"), "left": left_value,
                                "right": right_value})
    check = CrossCheck(left_entry=left.code, left_item=left_item, right_entry=right.code,
                       right_item=right_item, compared=compared, mismatched=mismatched,
                       samples=samples, run_by=actor)
    session.add(check)
    await session.flush()
    await session.refresh(check, ["run_at"])
    await outbox.add(session, str(check.id), CrossCheckCompleted(
        check_id=check.id, left_entry=left.code, left_item=left_item,
        left_provider=left.provider, right_entry=right.code, right_item=right_item,
        right_provider=right.provider, compared=compared, mismatched=mismatched,
        run_at=check.run_at))
    return check
