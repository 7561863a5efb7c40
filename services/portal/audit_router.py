"""The auditor's audit pages (E5): who used whose data, how and when, filtered by party,
entry, kind and days; and the verification of the audit log's hash chain, against the heads
anchored outside the node's database."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors
from services.portal.labels import LABELS
from services.portal.pages import render
from services.portal.session import Viewer
from shared import clock
from shared.workdays import end_of_day

router = APIRouter(prefix="/audit", include_in_schema=False)

AUDIT = "/api/exchange/audit"
Auditor = Annotated[Viewer, with_role("auditor")]
Filter = Annotated[str, Query(max_length=100)]
FILTERS = ("consumer", "provider", "entry_code", "kind", "since", "until")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@router.get("")
async def audit_log(request: Request, viewer: Auditor, api: ApiDep, consumer: Filter = "",
                    provider: Filter = "", entry_code: Filter = "", kind: Filter = "",
                    since: Filter = "", until: Filter = "",
                    offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    """The accesses, newest first, as filtered; a filter the API refuses is told at its
    input and nothing is listed."""
    chosen = {name: value.strip() for name, value in zip(FILTERS, (
        consumer, provider, entry_code, kind, since, until), strict=True) if value.strip()}
    params = {**chosen, "limit": PAGE_SIZE, "offset": offset}
    # The days chosen are China's: from the first day's start to the last day's end.
    if DAY.match(chosen.get("since", "")):
        params["since"] = _moment(chosen["since"], days=0)
    if DAY.match(chosen.get("until", "")):
        params["until"] = _moment(chosen["until"], days=1)
    page, errors = None, {}
    try:
        page = await api.get(AUDIT, token=viewer.token, params=params)
    except ApiProblem as refused:
        errors = field_errors(refused, FILTERS)
    return render(request, "audit_log.html.j2", viewer=viewer, page=page, chosen=chosen,
                  errors=errors, status=422 if errors else 200, labels=LABELS)


@router.get("/verification")
async def verification(request: Request, viewer: Auditor, api: ApiDep) -> Response:
    """The chain recomputed now: valid or where it breaks, and the anchored heads."""
    result = await api.get(f"{AUDIT}/verification", token=viewer.token)
    return render(request, "audit_verification.html.j2", viewer=viewer, result=result,
                  now=clock.now())


def _moment(day: str, *, days: int) -> str:
    """The start of `day` (+ `days`) in China, as the API takes a moment."""
    try:
        return end_of_day(date.fromisoformat(day) + timedelta(days=days - 1)).isoformat()
    except (ValueError, OverflowError):  # not a date, or one at the calendar's very edge
        return day  # the API says what is wrong with it
