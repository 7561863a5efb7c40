"""The node admin's page of the holiday schedules (节假日安排): the working-day calendar each
year's deadlines are counted on (request answers, catalog updates), where it comes from
(a schedule loaded here, the built-in library, or Monday to Friday only), and a year's
State Council schedule loaded as the competent authority publishes it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.admin_router import Admin
from services.portal.deps import ApiDep
from services.portal.errors import redirect
from services.portal.evaluation_router import this_year
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, text, words
from services.portal.messages import field_message
from services.portal.pages import render
from services.portal.session import Viewer

router = APIRouter(prefix="/admin/calendar", include_in_schema=False)

CALENDAR = "/api/catalog/calendar"
Year = Annotated[int, Query(ge=2000, le=2099)]
INPUTS = ("year", "holidays", "adjusted_workdays")
# The years shown at a glance: the last, this and the next two (the State Council publishes
# a year's schedule late in the year before).
AROUND = range(-1, 3)


@router.get("")
async def calendar(request: Request, viewer: Admin, api: ApiDep,
                   year: Year | None = None) -> Response:
    return await _page(request, viewer, api, year=year or this_year())


@router.post("")
async def load_schedule(request: Request, viewer: Admin, api: ApiDep) -> Response:
    """The year's days off on weekdays and working weekend days, as typed (dates separated
    by spaces, commas or new lines); the API checks each."""
    form = await request.form()
    typed = {name: text(form, name) or "" for name in INPUTS}
    if not typed["year"].isdigit() or len(typed["year"]) != 4:  # it becomes part of a path
        return await _page(request, viewer, api, year=this_year(), typed=typed, status=422,
                           errors={"year": field_message("int_parsing")})
    try:
        await api.put(f"{CALENDAR}/{typed['year']}", token=viewer.token, json={
            "holidays": words(typed["holidays"]),
            "adjusted_workdays": words(typed["adjusted_workdays"])})
    except ApiProblem as refused:
        return await _page(request, viewer, api, year=this_year(), typed=typed,
                           errors=field_errors(refused, INPUTS), status=refused.status)
    return redirect(request, f"/admin/calendar?year={typed['year']}&loaded=1")


async def _page(request: Request, viewer: Viewer, api: ApiDep, *, year: int,
                typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                status: int = 200) -> Response:
    years = sorted({this_year() + step for step in AROUND} | {year})
    calendars = await asyncio.gather(*(api.get(f"{CALENDAR}/{shown}", token=viewer.token)
                                       for shown in years))
    chosen = calendars[years.index(year)]
    return render(request, "admin_calendar.html.j2", viewer=viewer, status=status,
                  calendars=calendars, chosen=chosen, errors=errors or {},
                  typed=typed or _as_typed(chosen))


def _as_typed(schedule: dict[str, Any]) -> dict[str, str]:
    """The form filled with a year's calendar as it stands, to correct and load again."""
    return {"year": str(schedule["year"]), "holidays": " ".join(schedule["holidays"]),
            "adjusted_workdays": " ".join(schedule["adjusted_workdays"])}
