"""The first page: the staff's workbench when signed in, the open-data site otherwise."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.portal.deps import ApiDep, OptionalViewerDep
from services.portal.pages import render

router = APIRouter(include_in_schema=False)

AWAITING_ANSWER = [("side", "provider"), ("status", "submitted"), ("status", "overdue"),
                   ("status", "negotiating")]
DEPARTMENT_ROLES = ("catalog_editor", "request_reviewer", "data_operator")


@router.get("/")
async def home(request: Request, viewer: OptionalViewerDep, api: ApiDep) -> Response:
    if viewer is None:
        return RedirectResponse("/public", status_code=303)
    awaiting = None
    if viewer.department and viewer.has_any(*DEPARTMENT_ROLES):
        awaiting = await api.get("/api/authorization/requests", token=viewer.token,
                                 params=[*AWAITING_ANSWER, ("limit", 5)])
    return render(request, "home.html.j2", viewer=viewer, awaiting=awaiting)
