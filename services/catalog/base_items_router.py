"""C3's register: the lead department of each base resource and the base items it keeps
[51 §10(二), JS §11(二)], and the published entries that break it."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import base_items
from services.catalog.deps import SessionDep
from services.catalog.exceptions import NotTheLeadDepartment
from services.catalog.models import BaseItem, BaseSubjectLead
from services.catalog.schemas import (
    BaseItemPublic,
    BaseItemRegistration,
    BaseItemRemoval,
    BaseItemViolation,
    BaseSubjectPublic,
    LeadAppointment,
)
from shared.auth import CurrentPrincipal, require_role
from shared.contracts import Role
from shared.contracts.catalog import BaseSubject
from shared.pagination import Page, PageDep, fetch_page
from shared.tokens import TokenClaims

router = APIRouter(tags=["base items"])


async def _may_keep(session: AsyncSession, principal: TokenClaims, subject: str) -> None:
    """The competent authority (node admin), or the lead department's catalog editors."""
    if principal.has_role(Role.node_admin):
        return
    lead = (await base_items.leads(session)).get(subject)
    if (lead is not None and principal.department == lead.department
            and principal.has_role(Role.catalog_editor)):
        return
    raise NotTheLeadDepartment(
        f"Only the lead department of base resource {subject} (its catalog editors) or the "
        "competent authority keeps its base items [JS §11(二)].",
        required_roles=[Role.node_admin, Role.catalog_editor],
        lead_department=lead.department if lead else None)


def _subject_view(subject: BaseSubject, lead: BaseSubjectLead | None) -> BaseSubjectPublic:
    return BaseSubjectPublic(
        subject=subject, name=base_items.SUBJECT_NAMES[subject],
        lead_department=lead.department if lead else None,
        appointed_by=lead.appointed_by if lead else None,
        appointed_at=lead.appointed_at if lead else None)


@router.get("/base-subjects", response_model=list[BaseSubjectPublic],
            summary="The five base resources and their lead departments (JS §11(二))")
async def list_base_subjects(principal: CurrentPrincipal,
                             session: SessionDep) -> list[BaseSubjectPublic]:
    appointed = await base_items.leads(session)
    return [_subject_view(subject, appointed.get(subject)) for subject in BaseSubject]


@router.put("/base-subjects/{subject}/lead", response_model=BaseSubjectPublic,
            dependencies=[Depends(require_role(Role.node_admin))],
            summary="Appoint the department that leads a base resource (competent authority)",
            description="The lead department's catalog editors keep the resource's base "
                        "items from then on; 422 `unknown-provider` for a department this "
                        "node does not know.")
async def appoint_lead(subject: BaseSubject, body: LeadAppointment,
                       principal: CurrentPrincipal, session: SessionDep) -> BaseSubjectPublic:
    return _subject_view(subject, await base_items.appoint_lead(
        session, subject=subject, department=body.department, actor=principal.sub))


@router.get("/base-items", response_model=Page[BaseItemPublic],
            summary="The register of base items (C3), per base resource")
async def list_base_items(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep,
    subject: BaseSubject | None = None,
    state: Annotated[Literal["registered", "removed"], Query(
        description="registered: the items standing (by resource and code); removed: those "
                    "taken off, with who, when and why (latest first).")] = "registered",
) -> dict[str, object]:
    query = base_items.items_query(subject=subject, removed=state == "removed")
    items, total = await fetch_page(session, query, page)
    return page.wrap(items, total)


@router.get("/base-items/violations", response_model=Page[BaseItemViolation],
            summary="Published entries' items that break the register (C3), for their "
                    "providers to change",
            description="An item the register names a base item of the entry's base "
                        "resource, shared conditionally or not at all. A change of the "
                        "register changes no entry: its provider changes it, and the "
                        "entry's next change is refused until it does.")
async def list_violations(principal: CurrentPrincipal, session: SessionDep, page: PageDep,
                          provider: str | None = None,
                          subject: BaseSubject | None = None) -> dict[str, object]:
    found = await base_items.violations(session, provider=provider, subject=subject)
    shown = found[page.offset:page.offset + page.limit]
    return page.wrap([BaseItemViolation(
        entry_code=v.entry.code, entry_name=v.entry.name, provider=v.entry.provider,
        subject=v.base_item.subject, field=f"items[{v.index}].share_type",
        item_code=v.item.code, item_name=v.item.name, share_type=v.item.share_type,
        base_item=BaseItemPublic.model_validate(v.base_item)) for v in shown], len(found))


@router.post("/base-items", response_model=BaseItemPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Register a base item of a base resource (its lead department)",
             description="From now on every entry of that base resource shares the item (by "
                         "code, or by name once normalised) unconditionally, ticked or not; "
                         "entries published before are listed at /base-items/violations. 409 "
                         "`base-item-taken` while the resource registers one of that code or "
                         "name.")
async def register_base_item(body: BaseItemRegistration, principal: CurrentPrincipal,
                             session: SessionDep) -> BaseItem:
    await _may_keep(session, principal, body.subject)
    return await base_items.register_item(
        session, subject=body.subject, item_code=body.item_code, item_name=body.item_name,
        reason=body.reason, actor=principal.sub)


@router.get("/base-items/{item_id}", response_model=BaseItemPublic,
            summary="One base-item registration, standing or removed")
async def get_base_item(item_id: uuid.UUID, principal: CurrentPrincipal,
                        session: SessionDep) -> BaseItem:
    return await base_items.get_item(session, item_id)


@router.post("/base-items/{item_id}/remove", response_model=BaseItemPublic,
             summary="Take an item off the register, with why (its lead department)",
             description="409 `illegal-transition` when it was removed already.")
async def remove_base_item(item_id: uuid.UUID, body: BaseItemRemoval,
                           principal: CurrentPrincipal, session: SessionDep) -> BaseItem:
    item = await base_items.get_item(session, item_id, lock=True)
    await _may_keep(session, principal, item.subject)
    return await base_items.remove_item(session, item, reason=body.reason, actor=principal.sub)
