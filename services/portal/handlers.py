"""What the portal does with events: the notices they call for, and the few facts the
notices and the reminder jobs need (names, open requests' due dates, grants' last days,
the holiday schedules).

Each event is applied once (`shared.consumer`); a notice's key is the event and its
addressee, so even a replay that forgot which events were applied posts nothing twice.
Mirrors keep the newest version, so a late event never rolls one back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
from services.portal.notices import Draft
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
from shared.contracts.evaluation import RectificationListed
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
    await _post(session, event, _request_notices(event.payload))


def _request_notices(change: RequestEvent) -> list[Draft]:
    request = change.request
    match change:
        case RequestSubmitted():
            return notices.request_submitted(request)
        case RequestOverdue():
            return notices.request_overdue(request)
        case RequestAnswered():
            return notices.request_answered(request)
        case NegotiationOpened():
            return notices.negotiation_opened(request)
        case RequestMessagePosted(sender=sender, body=body):
            return notices.message_posted(request, sender, body)
        case RequestEscalated():
            return notices.request_escalated(request)
        case RequestDecided():
            return notices.request_decided(request)
        case RequestWithdrawn():
            return notices.request_withdrawn(request, change.actor)
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
    drafts = (notices.grant_issued(grant) if isinstance(event.payload, GrantIssued)
              else notices.grant_changed(event.type, grant, event.payload.reason))
    await _post(session, event, drafts)


@handlers.on(*AGREEMENT_EVENTS)
async def agreement_changed(session: AsyncSession, event: Event[AgreementEvent],
                            outbox: Outbox) -> None:
    agreement = event.payload.agreement
    await _post(session, event, notices.agreement_changed(event.type, agreement))


# --- the exchange's findings and the catalog's flags ----------------------------------------------


@handlers.on(ObjectionRaised, ObjectionVerifying, ObjectionResolved)
async def objection_changed(session: AsyncSession, event: Event[ObjectionEvent],
                            outbox: Outbox) -> None:
    objection = event.payload.objection
    await _post(session, event, notices.objection_changed(event.type, objection))


@handlers.on(EntryStale)
async def entry_stale(session: AsyncSession, event: Event[EntryStale], outbox: Outbox) -> None:
    await _post(session, event, notices.entry_stale(event.payload))


@handlers.on(DuplicateCollectionFlagged)
async def duplicate_flagged(session: AsyncSession, event: Event[DuplicateCollectionFlagged],
                            outbox: Outbox) -> None:
    flag = event.payload
    await _post(session, event, notices.duplicate_flagged(flag))


@handlers.on(RectificationListed)
async def rectification_listed(session: AsyncSession, event: Event[RectificationListed],
                               outbox: Outbox) -> None:
    await _post(session, event, notices.rectification_listed(event.payload))
