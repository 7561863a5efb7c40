"""The node admin's page of the nodes this one is linked with (节点与级联, G2): this node,
its parent and children, how far the catalog has flowed up to the parent and what it holds
of each origin (F1), the entry versions that arrived with two contents (F4); and an
invitation for a child node to link, its one-time code shown once."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.admin_router import SECRET_SHOWN, Admin
from services.portal.deps import PAGE_SIZE, ApiDep
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, text, without_empty
from services.portal.labels import LABELS
from services.portal.pages import render
from services.portal.session import Viewer

router = APIRouter(prefix="/admin/federation", include_in_schema=False)

IDENTITY = "/api/authorization"
CATALOG_FLOW = "/api/catalog/federation"
INVITATION = ("child_node_id", "valid_hours")


@router.get("")
async def federation(request: Request, viewer: Admin, api: ApiDep,
                     offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    return await _page(request, viewer, api, offset=offset)


@router.post("/invitations")
async def invite(request: Request, viewer: Admin, api: ApiDep) -> Response:
    """A one-time code for the child's operator (`govshare node link`), shown on this
    answer only."""
    form = await request.form()
    body = without_empty({name: text(form, name) for name in INVITATION})
    try:
        invitation = await api.post(f"{IDENTITY}/federation/invitations", token=viewer.token,
                                    json=body)
    except ApiProblem as refused:
        return await _page(request, viewer, api, typed=body,
                           errors=field_errors(refused, INVITATION), status=refused.status)
    response = await _page(request, viewer, api, invitation=invitation)
    response.headers.update(SECRET_SHOWN)
    return response


async def _page(request: Request, viewer: Viewer, api: ApiDep, *, offset: int = 0,
                typed: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                invitation: dict[str, Any] | None = None, status: int = 200) -> Response:
    token = viewer.token
    node, linked, flow, conflicts = await asyncio.gather(
        api.get(f"{IDENTITY}/node", token=token),
        api.get(f"{IDENTITY}/federation/nodes", token=token),
        api.get(f"{CATALOG_FLOW}/status", token=token),
        api.get(f"{CATALOG_FLOW}/conflicts", token=token,
                params={"limit": PAGE_SIZE, "offset": offset}))
    return render(request, "admin_federation.html.j2", viewer=viewer, status=status,
                  node=node, linked=linked, flow=flow, conflicts=conflicts,
                  peers={peer["node_id"]: peer for peer in flow["peers"]},
                  typed=typed or {}, errors=errors or {}, invitation=invitation,
                  labels=LABELS)
