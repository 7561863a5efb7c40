"""Obligations around the catalog: C6 change triggers and the working-day calendar they are
counted with, and C7's collection-responsibility register."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from sqlalchemy import select

from services.catalog import collection, triggers
from services.catalog.deps import OutboxDep, SessionDep
from services.catalog.exceptions import NotTheProvidersEditor
from services.catalog.models import (
    ChangeTrigger,
    CollectionResponsibility,
    DuplicateCollectionClearance,
    DuplicateCollectionFlag,
    Entry,
)
from services.catalog.schemas import (
    DuplicateCollectionListed,
    ResponsibilityPublic,
    ResponsibilityRegister,
    ScheduleLoad,
    ScheduleView,
    TriggerCreate,
    TriggerPublic,
    TriggerResolve,
)
from shared import clock
from shared.auth import CurrentPrincipal, require_role
from shared.contracts import Role
from shared.contracts.catalog import EntryStatus
from shared.contracts.values import Day, Year
from shared.pagination import Page, PageDep, fetch_page
from shared.problems import Unprocessable
from shared.tokens import TokenClaims
from shared.workdays import HolidaySchedule, china_date

router = APIRouter()


def _may_act_for(principal: TokenClaims, department: str) -> None:
    """The competent authority (node admin) or the department's own catalog editors."""
    if principal.has_role(Role.node_admin):
        return
    if principal.department == department and principal.has_role(Role.catalog_editor):
        return
    raise NotTheProvidersEditor("Only the competent authority or the department's catalog "
                                "editors may do this.")


@router.post("/triggers", response_model=TriggerPublic, status_code=status.HTTP_201_CREATED,
             tags=["change triggers"], summary="Record a change that obliges a catalog update "
             "within 15 working days (C6)")
async def record_trigger(body: TriggerCreate, principal: CurrentPrincipal, session: SessionDep,
                         outbox: OutboxDep) -> ChangeTrigger:
    _may_act_for(principal, body.department)
    return await triggers.record_trigger(
        session, outbox, department=body.department, kind=body.kind,
        description=body.description, occurred_on=body.occurred_on, actor=principal.sub)


@router.post("/triggers/{trigger_id}/resolve", response_model=TriggerPublic,
             tags=["change triggers"],
             summary="Mark a trigger met by the catalog change that answers it",
             description="Names the department's entry whose change (published, updated or "
                         "withdrawn on or after the trigger's occurred_on) answers it; 422 "
                         "`trigger-not-answered` when there is none (C6 [51 §8, JS §9]).")
async def resolve_trigger(trigger_id: uuid.UUID, body: TriggerResolve,
                          principal: CurrentPrincipal, session: SessionDep,
                          outbox: OutboxDep) -> ChangeTrigger:
    trigger = await session.get(ChangeTrigger, trigger_id)
    if trigger is not None:
        _may_act_for(principal, trigger.department)
    return await triggers.resolve_trigger(session, outbox, trigger_id, actor=principal.sub,
                                          entry_code=body.entry_code, note=body.note)


@router.get("/triggers", response_model=Page[TriggerPublic], tags=["change triggers"],
            summary="Change triggers, per department; `overdue=true` lists the late ones")
async def list_triggers(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep,
    department: str | None = None,
    overdue: Annotated[bool, Query(description="Only unresolved triggers past due.")] = False,
    as_of: Annotated[Day | None, Query(description="Judge overdue on this day.")] = None,
) -> dict[str, object]:
    items, total = await triggers.list_triggers(
        session, page, department=department,
        overdue_on=(as_of or china_date(clock.now())) if overdue else None)
    return page.wrap(items, total)


@router.put("/calendar/{year}", response_model=ScheduleView, tags=["calendar"],
            dependencies=[Depends(require_role(Role.node_admin))],
            summary="Load a year's holiday schedule (competent authority)")
async def load_schedule(year: Year, body: ScheduleLoad, principal: CurrentPrincipal,
                        session: SessionDep, outbox: OutboxDep) -> ScheduleView:
    try:
        schedule = HolidaySchedule(year=year, holidays=frozenset(body.holidays),
                                   adjusted_workdays=frozenset(body.adjusted_workdays))
    except ValueError as error:
        raise Unprocessable(str(error), field="body") from error
    await triggers.load_schedule(session, outbox, schedule, principal.sub)
    return await view_schedule(year, principal, session)


@router.get("/calendar/{year}", response_model=ScheduleView, tags=["calendar"],
            summary="The working-day calendar of a year and where it comes from")
async def view_schedule(year: Year, principal: CurrentPrincipal,
                        session: SessionDep) -> ScheduleView:
    calendar = await triggers.working_calendar(session)
    days = [date(year, 1, 1) + timedelta(days=i)
            for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    return ScheduleView(
        year=year, basis=calendar.basis(date(year, 1, 1)),
        holidays=[d for d in days if d.weekday() < 5 and not calendar.is_workday(d)],
        adjusted_workdays=[d for d in days if d.weekday() >= 5 and calendar.is_workday(d)],
    )


ItemCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,50}$")]


@router.put("/responsibilities/{item_code}", response_model=ResponsibilityPublic,
            tags=["collection responsibility"],
            dependencies=[Depends(require_role(Role.node_admin))],
            summary="Say which department collects an item (C7, 一数一源)")
async def register_responsibility(item_code: ItemCode, body: ResponsibilityRegister,
                                  principal: CurrentPrincipal, session: SessionDep,
                                  outbox: OutboxDep) -> CollectionResponsibility:
    return await collection.register_responsibility(
        session, outbox, item_code=item_code, item_name=body.item_name,
        department=body.department, actor=principal.sub)


@router.get("/responsibilities", response_model=Page[ResponsibilityPublic],
            tags=["collection responsibility"], summary="The collection-responsibility register")
async def list_responsibilities(principal: CurrentPrincipal, session: SessionDep,
                                page: PageDep, department: str | None = None,
                                ) -> dict[str, object]:
    query = select(CollectionResponsibility).order_by(CollectionResponsibility.item_code)
    if department:
        query = query.where(CollectionResponsibility.department == department)
    items, total = await fetch_page(session, query, page)
    return page.wrap(items, total)


# Each list of flags: its table and its order (the standing oldest first, the cleared latest
# first), unique so pages do not overlap.
FLAG_LISTS: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "standing": (DuplicateCollectionFlag, (DuplicateCollectionFlag.flagged_at,
                                           DuplicateCollectionFlag.entry_id,
                                           DuplicateCollectionFlag.item_code)),
    "cleared": (DuplicateCollectionClearance, (DuplicateCollectionClearance.cleared_at.desc(),
                                               DuplicateCollectionClearance.id)),
}


@router.get("/duplicate-collection", response_model=Page[DuplicateCollectionListed],
            tags=["collection responsibility"],
            summary="Items catalogued by a department other than the one responsible (C7)")
async def list_duplicate_collection(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep,
    provider: str | None = None,
    state: Annotated[Literal["standing", "cleared"], Query(
        description="standing: the flags now (oldest first); cleared: those that stopped "
                    "standing, with when and why (latest first).")] = "standing",
    published: Annotated[bool, Query(description=(
        "Only the flags of published entries: those that count against the provider (a "
        "draft collects nothing yet), as /supervision counts them."))] = False,
) -> dict[str, object]:
    model, order = FLAG_LISTS[state]
    query = select(model).order_by(*order)
    if provider:
        query = query.where(model.provider == provider)
    if published and model is DuplicateCollectionFlag:  # a cleared flag was published already
        query = query.join(Entry, Entry.id == DuplicateCollectionFlag.entry_id).where(
            Entry.status == EntryStatus.published)
    items, total = await fetch_page(session, query, page)
    return page.wrap(items, total)
