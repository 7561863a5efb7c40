"""The oversight roles' evaluation pages (考核评估): what each department did in a period, the
counts the scores rest on (V1); the information systems filed and their use, zombies first
(V3, 僵尸系统); and the departments that may not have project approval or O&M funding in a
year, and why (51 §21: no catalog, no approval). The API decides who sees every
department's figures; a period or filter it refuses is told at its input."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.evaluation_router import EVALUATION, this_year
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, without_empty
from services.portal.labels import LABELS
from services.portal.pages import render
from services.portal.sections import OVERSIGHT
from services.portal.session import Viewer
from services.portal.sharing import department_names
from shared.contracts import findings
from shared.deps import SessionDep

router = APIRouter(prefix="/evaluation", include_in_schema=False)

Overseer = Annotated[Viewer, with_role(*OVERSIGHT)]
Filter = Annotated[str, Query(max_length=100)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
# Which systems the page lists: the zombies (the default), the others, or all.
SHOWN = {"zombie": {"zombie": "true"}, "used": {"zombie": "false"}, "all": {}}


@router.get("/indicators")
async def indicators(request: Request, viewer: Overseer, api: ApiDep, period: Filter = "",
                     department: Filter = "", offset: Offset = 0) -> Response:
    """Every department's counts for the period (this year's so far by default)."""
    chosen = {"period": period.strip() or str(this_year()),
              **without_empty({"department": department.strip()})}
    page, errors, status = None, {}, 200
    try:
        page = await api.get(f"{EVALUATION}/indicators", token=viewer.token,
                             params={**chosen, "limit": PAGE_SIZE, "offset": offset})
    except ApiProblem as refused:
        errors, status = field_errors(refused, ("period", "department")), refused.status
    return render(request, "evaluation_indicators.html.j2", viewer=viewer, status=status,
                  page=page, chosen=chosen, errors=errors, lapse=findings.reason)


@router.get("/systems")
async def systems(request: Request, viewer: Overseer, api: ApiDep, session: SessionDep,
                  period: Filter = "", department: Filter = "",
                  shown: Annotated[str, Query(pattern="^(zombie|used|all)$")] = "zombie",
                  offset: Offset = 0) -> Response:
    """The filed systems and their use in the period; by default only the zombies, used no
    more than the scoring method allows [39 (一)]."""
    chosen = {"period": period.strip() or str(this_year()),
              **without_empty({"department": department.strip()})}
    page, errors, status, names = None, {}, 200, {}
    try:
        page = await api.get(f"{EVALUATION}/systems", token=viewer.token, params={
            **chosen, **SHOWN[shown], "limit": PAGE_SIZE, "offset": offset})
        names = await department_names(session, (item["department"] for item in page["items"]))
    except ApiProblem as refused:
        errors, status = field_errors(refused, ("period", "department")), refused.status
    method = await api.get(f"{EVALUATION}/scoring-method", token=viewer.token)
    return render(request, "evaluation_systems.html.j2", viewer=viewer, status=status,
                  page=page, chosen=chosen, shown=shown, errors=errors, names=names,
                  zombie_max_uses=method["method"]["zombie_max_uses"], labels=LABELS)


@router.get("/funding")
async def funding(request: Request, viewer: Overseer, api: ApiDep, year: Filter = "",
                  q: Filter = "", offset: Offset = 0) -> Response:
    """The departments not eligible for project approval or O&M funding in the year, each
    with its reasons in Chinese; `q` narrows them by name."""
    chosen = {"year": year.strip() or str(this_year()), **without_empty({"q": q.strip()})}
    page, errors, status = None, {}, 200
    try:
        listed = await api.get(f"{EVALUATION}/funding-eligibility", token=viewer.token,
                               params={"year": chosen["year"]})
        page = _paged([{**item, "reasons": [findings.reason(r) for r in item["reasons"]]}
                       for item in listed if chosen.get("q", "") in item["name"]], offset)
    except ApiProblem as refused:
        errors, status = field_errors(refused, ("year",)), refused.status
    return render(request, "evaluation_funding.html.j2", viewer=viewer, status=status,
                  page=page, chosen=chosen, errors=errors)


def _paged(items: list[dict[str, Any]], offset: int) -> dict[str, Any]:
    """One page of a list the API gives whole, shaped as the API's pages are."""
    return {"items": items[offset:offset + PAGE_SIZE], "total": len(items),
            "limit": PAGE_SIZE, "offset": offset}
