"""My department: the requests it filed and those it must answer, the grants it holds and
those it gave, each request awaiting an answer with its working-day countdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.pages import render
from services.portal.session import Viewer

router = APIRouter(prefix="/department", include_in_schema=False)


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    path: str
    params: tuple[tuple[str, str], ...]  # the department's credit code is added as `party`


TABS = [
    Tab("incoming", "待我方答复", "/api/authorization/requests",
        (("side", "provider"), ("status", "submitted"), ("status", "overdue"),
         ("status", "negotiating"))),
    Tab("outgoing", "我方提出的申请", "/api/authorization/requests", (("side", "consumer"),)),
    Tab("held", "我方获得的授权", "/api/authorization/grants", (("consumer", "party"),)),
    Tab("given", "我方给出的授权", "/api/authorization/grants", (("provider", "party"),)),
]
BY_NAME = {tab.name: tab for tab in TABS}
Staff = Annotated[Viewer, with_role("catalog_editor", "request_reviewer", "data_operator")]
TabName = Annotated[str, Query(pattern="^(incoming|outgoing|held|given)$")]


@router.get("")
async def department(request: Request, viewer: Staff, api: ApiDep, tab: TabName = "incoming",
                     offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    if not viewer.department:
        return _no_department(request, viewer)
    page = await _list(api, viewer, BY_NAME[tab], offset, PAGE_SIZE)
    return render(request, "department.html.j2", viewer=viewer, tabs=TABS, tab=BY_NAME[tab],
                  counts=None, page=page)


@router.get("/tabs")
async def department_tabs(request: Request, viewer: Staff, api: ApiDep,
                          tab: TabName = "incoming") -> Response:
    """The tabs with how many each holds, loaded after the page (one call a tab)."""
    if not viewer.department:
        return _no_department(request, viewer)
    pages = await asyncio.gather(*(_list(api, viewer, candidate, 0, 1) for candidate in TABS))
    counts = {candidate.name: page["total"] for candidate, page in zip(TABS, pages, strict=True)}
    return render(request, "department_tabs.html.j2", viewer=viewer, tabs=TABS,
                  tab=BY_NAME[tab], counts=counts)


def _no_department(request: Request, viewer: Viewer) -> Response:
    return render(request, "error.html.j2", viewer=viewer, status=403,
                  heading="您的账号不属于任何部门", message="本部门页面只对部门工作人员开放。")


async def _list(api: ApiDep, viewer: Viewer, tab: Tab, offset: int,
                limit: int) -> dict[str, Any]:
    params = [(name, viewer.department if value == "party" else value)
              for name, value in tab.params]
    return await api.get(tab.path, token=viewer.token,
                         params=[*params, ("limit", limit), ("offset", offset)])
