"""V1/V2 over HTTP: indicators, scores and ranking, rectification list, funding eligibility."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.evaluation import indicators, report, scoring
from services.evaluation.deps import (
    CurrentPrincipal,
    PeriodDep,
    SessionDep,
    YearDep,
    visible_department,
)
from services.evaluation.indicators import DepartmentIndicators
from services.evaluation.method import current_method
from services.evaluation.scoring import DepartmentScore, FundingIneligibility, RectificationItem
from shared import clock
from shared.pagination import Page, PageDep

router = APIRouter(tags=["evaluation"])

DepartmentFilter = Annotated[str | None, Query(
    pattern=r"^[0-9A-Z]{18}$", description="A department's credit code.")]


@router.get("/indicators", response_model=Page[DepartmentIndicators])
async def list_indicators(session: SessionDep, principal: CurrentPrincipal, period: PeriodDep,
                          page: PageDep, department: DepartmentFilter = None) -> dict[str, object]:
    """What each department did in the period (V1). A department sees its own; auditors,
    operators and the competent authority see all."""
    department = visible_department(principal, department)
    _, method = await current_method(session)
    rows = await indicators.compute(session, period, method, now=clock.now(),
                                    departments=[department] if department else None)
    return page.wrap(rows[page.offset:page.offset + page.limit], len(rows))


@router.get("/scores", response_model=Page[DepartmentScore])
async def ranking(session: SessionDep, principal: CurrentPrincipal, period: PeriodDep,
                  page: PageDep) -> dict[str, object]:
    """Scores and ranking of every department for the period, best first (V2). Published
    to all departments, as the evaluation report is [JS §19]."""
    _, method = await current_method(session)
    _, ranked = await report.evaluate(session, period, method, now=clock.now())
    return page.wrap(ranked[page.offset:page.offset + page.limit], len(ranked))


@router.get("/rectifications", response_model=list[RectificationItem])
async def rectification_list(session: SessionDep, principal: CurrentPrincipal, year: YearDep,
                             department: DepartmentFilter = None) -> list[RectificationItem]:
    """Each department's findings for the year, the points of 51 §24 / JS §25 they violate
    and the deadline to rectify."""
    department = visible_department(principal, department)
    _, method = await current_method(session)
    _, ranked = await report.evaluate(session, year, method, now=clock.now())
    deadline = scoring.rectification_deadline(year.first_day.year, method)
    return [item for item in scoring.rectifications(ranked, method, deadline)
            if department is None or item.department == department]


@router.get("/funding-eligibility", response_model=list[FundingIneligibility])
async def funding_ineligible(session: SessionDep, principal: CurrentPrincipal,
                             year: YearDep) -> list[FundingIneligibility]:
    """Departments failing the sharing requirements in the year: no project approval and no
    O&M funding for them [51 §21, 39 三(六)]."""
    _, method = await current_method(session)
    counts, ranked = await report.evaluate(session, year, method, now=clock.now())
    return scoring.funding_ineligible(ranked, method, counts)
