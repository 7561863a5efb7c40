"""Staff users and their roles (系统管理 · 用户): the node admin gives every role but auditor
and security_admin, which the security administrator gives (三员分立, A7); nobody changes
their own account. The API says who may; the page shows its refusal at the input."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.admin_router import known_departments
from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem, NotPermitted
from services.portal.forms import field_errors, text, texts, without_empty
from services.portal.labels import LABELS, label
from services.portal.pages import render
from services.portal.session import Viewer

router = APIRouter(prefix="/admin/users", include_in_schema=False)

USERS = "/api/authorization/users"
Administrator = Annotated[Viewer, with_role("node_admin", "security_admin")]
INPUTS = ("username", "display_name", "department", "roles", "password")


@router.get("")
async def users(request: Request, viewer: Administrator, api: ApiDep,
                department: Annotated[str, Query(max_length=18)] = "",
                role: Annotated[str, Query(max_length=30)] = "",
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    return await _page(request, viewer, api, chosen=without_empty(
        {"department": department.strip(), "role": role.strip()}), offset=offset)


@router.post("")
async def add_user(request: Request, viewer: Administrator, api: ApiDep) -> Response:
    form = await request.form()
    body = {"roles": texts(form, "roles"), **without_empty({
        name: text(form, name) for name in ("username", "display_name", "department")}),
        **({"password": form["password"]} if form.get("password") else {})}
    try:
        await api.post(USERS, token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _page(request, viewer, api, acted="add", typed=body,
                           errors=field_errors(refused, INPUTS), status=refused.status)
    except NotPermitted as refused:
        return await _page(request, viewer, api, acted="add", typed=body, status=403,
                           errors={"roles": not_your_duty(refused)})
    return redirect(request, f"/admin/users?done={body.get('username', '')}")


@router.post("/{username}")
async def change_user(request: Request, username: str, viewer: Administrator,
                      api: ApiDep) -> Response:
    """New roles, or the account disabled or enabled again (one change at a time)."""
    form = await request.form()
    change = form.get("change")
    body: dict[str, Any] = ({"roles": texts(form, "roles")} if change == "roles"
                            else {"disabled": change == "disable"})
    try:
        await api.patch(f"{USERS}/{username}", token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _page(request, viewer, api, acted=username, status=refused.status,
                           errors=field_errors(refused, ("roles",)))
    except NotPermitted as refused:
        return await _page(request, viewer, api, acted=username, status=403,
                           errors={"roles": not_your_duty(refused)})
    return redirect(request, f"/admin/users?done={username}")


@router.post("/{username}/unlock")
async def unlock(request: Request, username: str, viewer: Administrator,
                 api: ApiDep) -> Response:
    await api.post(f"{USERS}/{username}/unlock", token=viewer.token)
    return redirect(request, f"/admin/users?done={username}")


def not_your_duty(refused: NotPermitted) -> str:
    """Why the API refused a change of roles this administrator may not make (A7)."""
    needed = "、".join(label(role, "role") for role in refused.required_roles)
    return ("这些角色不在您的职责范围内（三员分立）" + (f"，须由{needed}设置" if needed else "")
            + "。")


async def _page(request: Request, viewer: Viewer, api: ApiDep, *,
                chosen: dict[str, Any] | None = None, offset: int = 0,
                acted: str | None = None, typed: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status: int = 200) -> Response:
    page = await api.get(USERS, token=viewer.token,
                         params={**(chosen or {}), "limit": PAGE_SIZE, "offset": offset})
    return render(request, "admin_users.html.j2", viewer=viewer, status=status, page=page,
                  chosen=chosen or {}, departments=await known_departments(api, viewer),
                  acted=acted,
                  typed=typed or {}, errors=errors or {}, labels=LABELS)
