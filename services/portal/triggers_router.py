"""The department's change triggers (C6): a law revised or the department's functions
changed obliges a catalog update within 15 working days. The catalog editor records one,
sees each with its due date and working-day countdown, and resolves it with the entry whose
published change answers it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, text, without_empty
from services.portal.pages import render
from services.portal.session import Viewer

router = APIRouter(prefix="/catalog/triggers", include_in_schema=False)

TRIGGERS = "/api/catalog/triggers"
ENTRIES = "/api/catalog/entries"
Editor = Annotated[Viewer, with_role("catalog_editor")]
KINDS = [("law_revised", "法律法规修订"), ("functions_changed", "部门职能调整")]


@router.get("")
async def triggers_page(request: Request, viewer: Editor, api: ApiDep,
                        offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    return await _page(request, viewer, api, offset=offset)


@router.post("")
async def record_trigger(request: Request, viewer: Editor, api: ApiDep) -> Response:
    """Record a change of the viewer's department that obliges a catalog update."""
    form = await request.form()
    body = {"department": viewer.department, **without_empty({
        "kind": text(form, "kind"), "description": text(form, "description"),
        "occurred_on": text(form, "occurred_on")})}
    return await _act(request, viewer, api, TRIGGERS, body, "record",
                      ("kind", "description", "occurred_on"))


@router.post("/{trigger_id}/resolve")
async def resolve_trigger(request: Request, trigger_id: uuid.UUID, viewer: Editor,
                          api: ApiDep) -> Response:
    form = await request.form()
    body = without_empty({"entry_code": text(form, "entry_code"), "note": text(form, "note")})
    return await _act(request, viewer, api, f"{TRIGGERS}/{trigger_id}/resolve", body,
                      str(trigger_id), ("entry_code", "note"))


async def _act(request: Request, viewer: Viewer, api: ApiDep, path: str,
               body: dict[str, Any], acted: str, inputs: tuple[str, ...]) -> Response:
    try:
        await api.post(path, token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _page(request, viewer, api, acted=acted, typed=body,
                           errors=field_errors(refused, inputs), status=refused.status)
    done = "record" if acted == "record" else "resolve"
    return redirect(request, f"/catalog/triggers?done={done}")


async def _page(request: Request, viewer: Viewer, api: ApiDep, *, offset: int = 0,
                acted: str | None = None, typed: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status: int = 200) -> Response:
    page, own = await asyncio.gather(
        api.get(TRIGGERS, token=viewer.token, params={
            "department": viewer.department, "limit": PAGE_SIZE, "offset": offset}),
        api.get(ENTRIES, token=viewer.token, params={"provider": viewer.department,
                                                     "limit": 200}))
    answering = [entry for entry in own["items"] if entry["status"] != "draft"]
    return render(request, "catalog_triggers.html.j2", viewer=viewer, status=status,
                  page=page, entries=answering, kinds=KINDS, acted=acted,
                  typed=typed or {}, errors=errors or {})
