"""The node admin's pages (系统管理): the departments of the node (registered, renamed or
moved to another tier or region), and the client credentials of their systems, a new or
rotated secret shown once (only its hash is kept), the networks each may get tokens from.
The API decides every change (duties kept apart, A7); its refusal is shown at the input."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem, NotPermitted
from services.portal.forms import field_errors, text, texts, without_empty, words
from services.portal.labels import LABELS
from services.portal.pages import render
from services.portal.sections import ADMIN
from services.portal.session import Viewer

router = APIRouter(prefix="/admin", include_in_schema=False)

DEPARTMENTS = "/api/authorization/departments"
CLIENTS = "/api/authorization/clients"
Admin = Annotated[Viewer, with_role(*ADMIN)]
CreditCode = Annotated[str, Path(pattern=r"^[0-9A-Z]{18}$")]
DEPARTMENT_INPUTS = ("name", "tier", "region_code")
Offset = Annotated[int, Query(ge=0, le=10**9)]
Search = Annotated[str, Query(max_length=100)]
# A page showing a secret is kept by no cache and no history.
SECRET_SHOWN = {"Cache-Control": "no-store"}


@router.get("")
async def admin_home(request: Request, viewer: Admin) -> Response:
    return render(request, "admin_home.html.j2", viewer=viewer)


@router.get("/departments")
async def departments(request: Request, viewer: Admin, api: ApiDep, q: Search = "",
                      offset: Offset = 0) -> Response:
    return await _departments(request, viewer, api, q=q.strip(), offset=offset)


@router.post("/departments")
async def register_department(request: Request, viewer: Admin, api: ApiDep) -> Response:
    form = await request.form()
    body = without_empty({name: text(form, name)
                          for name in ("credit_code", *DEPARTMENT_INPUTS)})
    try:
        await api.post(DEPARTMENTS, token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _departments(request, viewer, api, typed=body, status=refused.status,
                                  errors=field_errors(refused, (*body, "credit_code", "name",
                                                                "tier", "region_code")))
    return redirect(request, f"/admin/departments?q={body['credit_code']}&done=1")


async def _departments(request: Request, viewer: Viewer, api: ApiDep, *, q: str = "",
                       offset: int = 0, typed: dict[str, Any] | None = None,
                       errors: dict[str, str] | None = None, status: int = 200) -> Response:
    params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": offset}
    if q:
        params["name_contains"] = q
    page = await api.get(DEPARTMENTS, token=viewer.token, params=params)
    return render(request, "admin_departments.html.j2", viewer=viewer, status=status,
                  page=page, q=q, typed=typed or {}, errors=errors or {}, labels=LABELS)


@router.get("/departments/{credit_code}")
async def department(request: Request, credit_code: CreditCode, viewer: Admin,
                     api: ApiDep) -> Response:
    found = await api.get(f"{DEPARTMENTS}/{credit_code}", token=viewer.token)
    return render(request, "admin_department.html.j2", viewer=viewer, department=found,
                  typed=found, errors={}, labels=LABELS)


@router.post("/departments/{credit_code}")
async def change_department(request: Request, credit_code: CreditCode, viewer: Admin,
                            api: ApiDep) -> Response:
    """A new name, tier or region (the credit code stays: it is the department's identity);
    every service learns the change from its event."""
    form = await request.form()
    body = without_empty({name: text(form, name) for name in DEPARTMENT_INPUTS})
    try:
        await api.patch(f"{DEPARTMENTS}/{credit_code}", token=viewer.token, json=body)
    except ApiProblem as refused:
        found = await api.get(f"{DEPARTMENTS}/{credit_code}", token=viewer.token)
        return render(request, "admin_department.html.j2", viewer=viewer,
                      status=refused.status, department=found, typed=body, labels=LABELS,
                      errors=field_errors(refused, DEPARTMENT_INPUTS))
    return redirect(request, f"/admin/departments/{credit_code}?saved=1")


@router.get("/clients")
async def clients(request: Request, viewer: Admin, api: ApiDep,
                  department: Annotated[str, Query(max_length=18)] = "",
                  offset: Offset = 0) -> Response:
    return await _clients(request, viewer, api, department=department.strip(), offset=offset)


@router.post("/clients")
async def create_client(request: Request, viewer: Admin, api: ApiDep) -> Response:
    """New credentials for a department's system: the secret is shown on this answer only."""
    form = await request.form()
    body = {"roles": texts(form, "roles"), **without_empty({
        "name": text(form, "name"), "department": text(form, "department"),
        "allowed_networks": words(text(form, "allowed_networks")),
        "secret_valid_days": text(form, "secret_valid_days")})}
    try:
        made = await api.post(CLIENTS, token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _clients(request, viewer, api, typed=body, status=refused.status,
                              errors=field_errors(refused, (
                                  "name", "department", "roles", "allowed_networks",
                                  "secret_valid_days")))
    return await _clients(request, viewer, api, department=made["department"], shown=made)


@router.post("/clients/{client_id}/rotate")
async def rotate_secret(request: Request, client_id: str, viewer: Admin,
                        api: ApiDep) -> Response:
    """A new secret at once (the old one stops now: it may have leaked), shown once."""
    made = await api.post(f"{CLIENTS}/{client_id}/rotate-secret", token=viewer.token,
                          json={})
    return await _clients(request, viewer, api, department=made["department"], shown=made)


@router.post("/clients/{client_id}/revoke")
async def revoke_client(request: Request, client_id: str, viewer: Admin,
                        api: ApiDep) -> Response:
    reason = text(await request.form(), "reason")
    try:
        revoked = await api.post(f"{CLIENTS}/{client_id}/revoke", token=viewer.token,
                                 json={"reason": reason} if reason else {})
    except ApiProblem as refused:
        return await _clients(request, viewer, api, acted=client_id, status=refused.status,
                              errors=field_errors(refused, ("reason",)))
    return redirect(request, f"/admin/clients?department={revoked['department']}")


@router.post("/clients/{client_id}/networks")
async def restrict_client(request: Request, client_id: str, viewer: Admin,
                          api: ApiDep) -> Response:
    """The networks the client may get tokens from (none typed: from anywhere)."""
    form = await request.form()
    networks = words(text(form, "allowed_networks"))
    try:
        changed = await api.put(f"{CLIENTS}/{client_id}/allowed-networks", token=viewer.token,
                                json={"allowed_networks": networks})
    except ApiProblem as refused:  # the list the form was on, the client's department's
        return await _clients(request, viewer, api, department=text(form, "department") or "",
                              acted=f"{client_id}/networks",
                              typed={"allowed_networks": networks}, status=refused.status,
                              errors=field_errors(refused, ("allowed_networks",)))
    return redirect(request, f"/admin/clients?department={changed['department']}")


async def _clients(request: Request, viewer: Viewer, api: ApiDep, *, department: str = "",
                   offset: int = 0, typed: dict[str, Any] | None = None,
                   errors: dict[str, str] | None = None, acted: str | None = None,
                   shown: dict[str, Any] | None = None, status: int = 200) -> Response:
    params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": offset}
    if department:
        params["department"] = department
    page = await api.get(CLIENTS, token=viewer.token, params=params)
    response = render(request, "admin_clients.html.j2", viewer=viewer, status=status,
                      page=page, department=department,
                      departments=await known_departments(api, viewer),
                      typed=typed or {}, errors=errors or {}, acted=acted, shown=shown,
                      labels=LABELS)
    if shown:
        response.headers.update(SECRET_SHOWN)
    return response


async def known_departments(api: ApiDep, viewer: Viewer) -> list[dict[str, Any]]:
    """The node's departments to pick from (the first 500 by name); none for whom the API
    does not list them (a security administrator)."""
    try:
        return (await api.get(DEPARTMENTS, token=viewer.token, params={"limit": 500}))["items"]
    except NotPermitted:
        return []
