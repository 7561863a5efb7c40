"""What the portal does with events: the notices they call for, and the few facts the
notices and the reminder jobs need (names, open requests' due dates, grants' last days,
the holiday schedules).

Each event is applied once (`shared.consumer`); a notice's key is the event and its
addressee, so even a replay that forgot which events were applied posts nothing twice.
Mirrors keep the newest version, so a late event never rolls one back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.portal import inbox, notices
from services.portal.models import (
    DepartmentName,
    EntryName,
    GrantTerm,
    HolidaySchedule,
    RequestDeadline,
)
from services.portal.notices import Draft, Names
from shared import clock
from shared.contracts import DepartmentRegistered, DepartmentUpdated
from shared.contracts.catalog import (
    DuplicateCollectionFlagged,
    EntryEvent,
    EntryPublished,
    EntryUpdated,
    EntryWithdrawn,
    HolidayScheduleLoaded,
)
from shared.contracts.exchange import (
    EntryStale,
    ObjectionEvent,
    ObjectionRaised,
    ObjectionResolved,
    ObjectionVerifying,
)
from shared.contracts.sharing import (
    AGREEMENT_EVENTS,
    GRANT_EVENTS,
    REQUEST_EVENTS,
    AgreementEvent,
    GrantEvent,
    GrantIssued,
    NegotiationOpened,
    RequestAnswered,
    RequestDecided,
    RequestEscalated,
    RequestEvent,
    RequestMessagePosted,
    RequestOverdue,
    RequestSubmitted,
    RequestWithdrawn,
)
from shared.handlers import Event, Handlers
from shared.outbox import Outbox

handlers = Handlers()

# An event older than this tells nobody anything to act on: a portal that joins a running
# node (or reads a long history again) keeps its facts but posts no stale notices.
NOTICE_HORIZON = timedelta(days=30)


async def names_of(session: AsyncSession, departments: Iterable[str],
                   entries: Iterable[str] = ()) -> Names:
    """The names the portal knows of these departments and entries."""
    codes, entry_codes = sorted(set(departments)), sorted(set(entries))
    known = await session.execute(select(DepartmentName.credit_code, DepartmentName.name)
                                  .where(DepartmentName.credit_code.in_(codes)))
    named = await session.execute(select(EntryName.code, EntryName.name)
                                  .where(EntryName.code.in_(entry_codes)))
    return Names(dict(known.tuples().all()), dict(named.tuples().all()))


async def _post(session: AsyncSession, event: Event[Any], drafts: list[Draft]) -> None:
    if event.time < clock.now() - NOTICE_HORIZON:
        return
    for draft in drafts:
        await inbox.post(session, draft, occurred_at=event.time,
                         key=f"{event.id}/{draft.department or '*'}/{draft.role or '*'}")


async def _upsert(session: AsyncSession, model: type[Any], values: dict[str, Any],
                  newer: ColumnElement[bool] | None = None) -> None:
    keys = [column.name for column in model.__table__.primary_key]
    await session.execute(insert(model).values(**values).on_conflict_do_update(
        index_elements=keys, set_=values, where=newer))


# --- what the notices name ----------------------------------------------------------------------


@handlers.on(DepartmentRegistered, DepartmentUpdated)
async def department_named(session: AsyncSession,
                           event: Event[DepartmentRegistered | DepartmentUpdated],
                           outbox: Outbox) -> None:
    await _upsert(session, DepartmentName, {"credit_code": event.payload.credit_code,
                                            "name": event.payload.name})


@handlers.on(EntryPublished, EntryUpdated, EntryWithdrawn)
async def entry_named(session: AsyncSession, event: Event[EntryEvent], outbox: Outbox) -> None:
    entry = event.payload.entry
    await _upsert(session, EntryName, {"code": entry.code, "name": entry.name,
                                       "version": entry.version},
                  newer=EntryName.version < entry.version)


@handlers.on(HolidayScheduleLoaded)
async def schedule_loaded(session: AsyncSession, event: Event[HolidayScheduleLoaded],
                          outbox: Outbox) -> None:
    schedule = event.payload
    await _upsert(session, HolidaySchedule, schedule.model_dump(
        include={"year", "holidays", "adjusted_workdays"}))


# --- requests (A2–A4) -----------------------------------------------------------------------------


@handlers.on(*REQUEST_EVENTS)
async def request_changed(session: AsyncSession, event: Event[RequestEvent],
                          outbox: Outbox) -> None:
    request = event.payload.request
    await _upsert(session, RequestDeadline, {
        "request_id": request.id, "provider": request.provider, "consumer": request.consumer,
        "entry_name": request.entry_name, "due_on": request.due_on,
        "status": request.status, "version": request.version,
    }, newer=RequestDeadline.version < request.version)
    parties = [request.consumer, request.provider]
    if request.escalation:
        parties.append(request.escalation.escalated_by)
    names = await names_of(session, parties)
    await _post(session, event, _request_notices(event.payload, names))


def _request_notices(change: RequestEvent, names: Names) -> list[Draft]:
    request = change.request
    match change:
        case RequestSubmitted():
            return notices.request_submitted(request, names)
        case RequestOverdue():
            return notices.request_overdue(request, names)
        case RequestAnswered():
            return notices.request_answered(request, names)
        case NegotiationOpened():
            return notices.negotiation_opened(request, names)
        case RequestMessagePosted(sender=sender, body=body):
            return notices.message_posted(request, sender, body, names)
        case RequestEscalated():
            return notices.request_escalated(request, names)
        case RequestDecided():
            return notices.request_decided(request, names)
        case RequestWithdrawn():
            return notices.request_withdrawn(request, change.actor, names)
    return []


# --- grants and agreements (A1, A6) ---------------------------------------------------------------


@handlers.on(*GRANT_EVENTS)
async def grant_changed(session: AsyncSession, event: Event[GrantEvent], outbox: Outbox) -> None:
    grant = event.payload.grant
    await _upsert(session, GrantTerm, {
        "grant_id": grant.id, "consumer": grant.consumer, "provider": grant.provider,
        "entry_code": grant.entry_code, "valid_until": grant.valid_until,
        "status": grant.status, "version": grant.version,
    }, newer=GrantTerm.version < grant.version)
    names = await names_of(session, [grant.consumer, grant.provider], [grant.entry_code])
    drafts = (notices.grant_issued(grant, names) if isinstance(event.payload, GrantIssued)
              else notices.grant_changed(event.type, grant, event.payload.reason, names))
    await _post(session, event, drafts)


@handlers.on(*AGREEMENT_EVENTS)
async def agreement_changed(session: AsyncSession, event: Event[AgreementEvent],
                            outbox: Outbox) -> None:
    agreement = event.payload.agreement
    names = await names_of(session, [agreement.consumer, agreement.provider,
                                     *([agreement.proposer] if agreement.proposer else [])],
                           [agreement.entry_code])
    await _post(session, event, notices.agreement_changed(event.type, agreement, names))


# --- the exchange's findings and the catalog's flags ----------------------------------------------


@handlers.on(ObjectionRaised, ObjectionVerifying, ObjectionResolved)
async def objection_changed(session: AsyncSession, event: Event[ObjectionEvent],
                            outbox: Outbox) -> None:
    objection = event.payload.objection
    names = await names_of(session, [objection.consumer, objection.provider],
                           [objection.entry_code])
    await _post(session, event, notices.objection_changed(event.type, objection, names))


@handlers.on(EntryStale)
async def entry_stale(session: AsyncSession, event: Event[EntryStale], outbox: Outbox) -> None:
    names = await names_of(session, [], [event.payload.entry_code])
    await _post(session, event, notices.entry_stale(event.payload, names))


@handlers.on(DuplicateCollectionFlagged)
async def duplicate_flagged(session: AsyncSession, event: Event[DuplicateCollectionFlagged],
                            outbox: Outbox) -> None:
    flag = event.payload
    names = await names_of(session, [flag.responsible_department], [flag.entry_code])
    await _post(session, event, notices.duplicate_flagged(flag, names))
