"""The department's registry records (C8): its databases behind the catalogued resources
(数据库登记 [BJ 三(二)]: registered, updated, deregistered with a reason) and its
information projects' resource catalogs (项目目录 [51 §21]: filed before approval, the
published entries attached at acceptance). Each refusal is shown at the input it names."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep
from services.portal.editor_router import ENTRIES, Editor
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, text, texts, without_empty
from services.portal.pages import render
from services.portal.session import Viewer

router = APIRouter(prefix="/catalog", include_in_schema=False)

DATABASES = "/api/catalog/databases"
PROJECTS = "/api/catalog/projects"
Offset = Annotated[int, Query(ge=0, le=10**9)]
# The most entries a form offers to choose from (the API's largest page).
ENTRY_CHOICES = 500
REGISTER = ("name", "dbms", "description", "resource_codes")
UPDATE = ("description", "resource_codes")
FILE = ("name", "planned_resources")


@router.get("/databases")
async def databases(request: Request, viewer: Editor, api: ApiDep,
                    offset: Offset = 0) -> Response:
    return await _databases(request, viewer, api, offset=offset)


@router.post("/databases")
async def register_database(request: Request, viewer: Editor, api: ApiDep) -> Response:
    form = await request.form()
    body = {"resource_codes": texts(form, "resource_codes"), **without_empty({
        name: text(form, name) for name in ("name", "dbms", "description")})}
    try:
        made = await api.post(DATABASES, token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _databases(request, viewer, api, typed=body, status=refused.status,
                                errors=field_errors(refused, REGISTER))
    return redirect(request, f"/catalog/databases/{made['id']}?done=registered")


@router.get("/databases/{database_id}")
async def database_page(request: Request, database_id: uuid.UUID, viewer: Editor,
                        api: ApiDep) -> Response:
    return await _database(request, viewer, api, database_id)


@router.post("/databases/{database_id}/update")
async def update_database(request: Request, database_id: uuid.UUID, viewer: Editor,
                          api: ApiDep) -> Response:
    form = await request.form()
    body = {"resource_codes": texts(form, "resource_codes"),
            **without_empty({"description": text(form, "description")})}
    try:
        await api.put(f"{DATABASES}/{database_id}", token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _database(request, viewer, api, database_id, acted="update", typed=body,
                               errors=field_errors(refused, UPDATE), status=refused.status)
    return redirect(request, f"/catalog/databases/{database_id}?done=updated")


@router.post("/databases/{database_id}/deregister")
async def deregister_database(request: Request, database_id: uuid.UUID, viewer: Editor,
                              api: ApiDep) -> Response:
    body = without_empty({"reason": text(await request.form(), "reason")})
    try:
        await api.post(f"{DATABASES}/{database_id}/deregister", token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _database(request, viewer, api, database_id, acted="deregister",
                               typed=body, errors=field_errors(refused, ("reason",)),
                               status=refused.status)
    return redirect(request, f"/catalog/databases/{database_id}?done=deregistered")


@router.get("/projects")
async def projects(request: Request, viewer: Editor, api: ApiDep,
                   offset: Offset = 0) -> Response:
    return await _projects(request, viewer, api, offset=offset)


@router.post("/projects")
async def file_project(request: Request, viewer: Editor, api: ApiDep) -> Response:
    """File a project's planned resources (one a line) before it is approved."""
    form = await request.form()
    planned = [line.strip() for line in (text(form, "planned_resources") or "").splitlines()]
    body = without_empty({"name": text(form, "name"),
                          "planned_resources": [line for line in planned if line]})
    try:
        made = await api.post(PROJECTS, token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _projects(request, viewer, api, status=refused.status,
                               typed={**body, "planned_resources": "\n".join(
                                   body.get("planned_resources", []))},
                               errors=field_errors(refused, FILE))
    return redirect(request, f"/catalog/projects/{made['id']}?done=filed")


@router.get("/projects/{project_id}")
async def project_page(request: Request, project_id: uuid.UUID, viewer: Editor,
                       api: ApiDep) -> Response:
    return await _project(request, viewer, api, project_id)


@router.post("/projects/{project_id}/acceptance")
async def accept_project(request: Request, project_id: uuid.UUID, viewer: Editor,
                         api: ApiDep) -> Response:
    """Attach the entries the project built; all of them sent, so none is refused by the
    API, not taken for "as before"."""
    body = {"entry_codes": texts(await request.form(), "entry_codes")}
    try:
        await api.post(f"{PROJECTS}/{project_id}/acceptance", token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _project(request, viewer, api, project_id, typed=body,
                              errors=field_errors(refused, ("entry_codes",)),
                              status=refused.status)
    return redirect(request, f"/catalog/projects/{project_id}?done=accepted")


async def _own_entries(api: ApiDep, viewer: Viewer) -> list[dict[str, Any]]:
    """The department's entries, by code: those a record may name (drafts too: the API says
    which it takes), and the names of those it names."""
    own = await api.get(ENTRIES, token=viewer.token, params={
        "provider": viewer.department, "limit": ENTRY_CHOICES})
    return own["items"]


async def _databases(request: Request, viewer: Viewer, api: ApiDep, *, offset: int = 0,
                     typed: dict[str, Any] | None = None,
                     errors: dict[str, str] | None = None, status: int = 200) -> Response:
    page, entries = await asyncio.gather(
        api.get(DATABASES, token=viewer.token, params={
            "department": viewer.department, "limit": PAGE_SIZE, "offset": offset}),
        _own_entries(api, viewer))
    return render(request, "catalog_databases.html.j2", viewer=viewer, status=status,
                  page=page, entries=entries, typed=typed or {}, errors=errors or {})


async def _database(request: Request, viewer: Viewer, api: ApiDep, database_id: uuid.UUID,
                    *, acted: str | None = None, typed: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None, status: int = 200) -> Response:
    database, entries = await asyncio.gather(
        api.get(f"{DATABASES}/{database_id}", token=viewer.token), _own_entries(api, viewer))
    return render(request, "catalog_database.html.j2", viewer=viewer, status=status,
                  database=database, entries=entries, acted=acted, typed=typed or {},
                  errors=errors or {})


async def _projects(request: Request, viewer: Viewer, api: ApiDep, *, offset: int = 0,
                    typed: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None, status: int = 200) -> Response:
    page = await api.get(PROJECTS, token=viewer.token, params={
        "department": viewer.department, "limit": PAGE_SIZE, "offset": offset})
    return render(request, "catalog_projects.html.j2", viewer=viewer, status=status,
                  page=page, typed=typed or {}, errors=errors or {})


async def _project(request: Request, viewer: Viewer, api: ApiDep, project_id: uuid.UUID, *,
                   typed: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                   status: int = 200) -> Response:
    project, entries = await asyncio.gather(
        api.get(f"{PROJECTS}/{project_id}", token=viewer.token), _own_entries(api, viewer))
    return render(request, "catalog_project.html.j2", viewer=viewer, status=status,
                  project=project, entries=entries, typed=typed or {}, errors=errors or {})
