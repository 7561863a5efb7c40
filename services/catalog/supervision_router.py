"""Supervision of the catalog (监督考核) [JS §9]: the competent authority and the auditors see,
per department, its entries, its overdue change triggers (C6) and its duplicate-collection
flags (C7), with the same facets as search."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.catalog.deps import Overseer, SessionDep
from services.catalog.search_router import FiltersDep
from services.catalog.supervision import SupervisionOrder, supervise
from shared import clock
from shared.contracts.values import Day
from shared.pagination import Page, PageDep
from shared.workdays import china_date

router = APIRouter(tags=["supervision"])


class DepartmentSupervision(BaseModel):
    """One department's catalog as its supervisor reads it."""

    model_config = ConfigDict(from_attributes=True)
    department: str = Field(description="The department's unified social credit code.")
    name: str
    tier: str
    region: str
    entries_published: int
    entries_draft: int
    entries_withdrawn: int
    triggers_open: int = Field(description="Change triggers not yet resolved (C6).")
    triggers_overdue: int = Field(description="Of those, the ones past their due date on "
                                              "`as_of`: 15 working days [51 §8, JS §9].")
    duplicate_collection_flags: int = Field(description=(
        "Items of its published entries that another department is responsible for "
        "collecting, standing now (C7, JS §25(六))."))
    base_item_violations: int = Field(description=(
        "Items of its published entries the base-item register says must be shared "
        "unconditionally and are not (C3), as /base-items/violations lists them."))


class SupervisionPage(Page[DepartmentSupervision]):
    as_of: date = Field(description="The day triggers were judged overdue on.")


@router.get(
    "/supervision", response_model=SupervisionPage,
    summary="Per department: entries, overdue change triggers and duplicate-collection flags "
            "(the competent authority and auditors)",
    description=(
        "One row per department registered on this node, with the search's facets. "
        "`provider`, `tier` and `region` choose departments (one without entries is listed "
        "too); `classification`, `share_type` and `method` choose the entries and flags "
        "counted, and list only departments with such an entry. Triggers concern the whole "
        "catalog and are counted regardless. Ordered by `order`, the largest count first "
        "(`department`: by credit code); base-item violations are counted for the page's "
        "departments and do not order it. 403 for callers other than node_admin or "
        "auditor."))
async def list_supervision(
    principal: Overseer, session: SessionDep, page: PageDep, filters: FiltersDep,
    order: SupervisionOrder = SupervisionOrder.triggers_overdue,
    as_of: Annotated[Day | None, Query(description="Judge overdue on this day (China "
                                                   "time); today by default.")] = None,
) -> SupervisionPage:
    today = as_of or china_date(clock.now())
    rows, total = await supervise(session, filters=filters, today=today, order=order,
                                  page=page)
    return SupervisionPage(items=[DepartmentSupervision.model_validate(row) for row in rows],
                           total=total, as_of=today, **page.model_dump())
